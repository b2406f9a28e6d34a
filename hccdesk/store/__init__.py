"""The project: in-memory model, crash-safe HDF5 persistence, lock, autosave journal, schema migrations and
CSV / NIfTI interop.  See ``docs/readme/store.md`` for the on-disk format."""
