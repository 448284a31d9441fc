// The Storage module: an embeddable LSM engine; see FORMAT.md.
