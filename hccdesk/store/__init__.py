"""The project: in-memory model, crash-safe HDF5 persistence, lock, autosave journal, schema migrations and
CSV / NIfTI interop.  The on-disk format is in the README (section *Projects*)."""
