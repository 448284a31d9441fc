// The Peer module; see ../../../shared/SPEC.md.
