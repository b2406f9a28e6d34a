"""The desktop app (Qt only): a view over the same core functions the CLI uses.

Nothing outside this package imports PySide6 or pyqtgraph, and nothing in it imports TensorFlow: training,
cross-validation and grading run in the jobs layer's spawn worker, and the GUI only polls their messages.
"""
