// The Gossip module; see ../../../shared/SPEC.md.
