"""Background jobs: cross-validation, training and grading in spawn worker processes.

The owner of a project (the GUI or a CLI command) builds job specs and a data snapshot, hands them to a
dispatcher (a local spawn pool or a Dask cluster), drains progress messages, and imports the results into
the project as the single writer.  Nothing here imports Qt, and only :mod:`hccdesk.jobs.worker` (inside the
worker processes) imports TensorFlow.
"""
