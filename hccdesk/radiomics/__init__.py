"""The radiomics baseline (variant ``radiomics``, not in the paper): IBSI features of the boxed lesion in each
phase, then a penalised logistic regression.  Qt- and TensorFlow-free; it runs in the same job workers as the
networks (docs/developer/model-evaluation.md)."""
