"""Evaluation of grading runs: patient-grouped splits, lesion-level metrics and their comparison, the paper's
published tables, and run tables for people and machines.  Pure numpy/scikit-learn: no TensorFlow, no Qt."""
