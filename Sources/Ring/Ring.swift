// The Ring module; see ../../../shared/SPEC.md.
