"""What users download: the interpreter's wasm as shipped (debug info split off) and its
sizes as transferred (raw, gzip, brotli)."""
