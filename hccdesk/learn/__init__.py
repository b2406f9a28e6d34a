"""The paper's networks (TensorFlow/Keras): patches, layers, models, variants, training.

Imported only inside worker processes, tests and ``hccdesk bench train``; the GUI process never imports it.
The package itself imports nothing heavy so that ``import hccdesk.learn`` stays cheap.
"""
