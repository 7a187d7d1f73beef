"""textrnn: recurrent text classifiers on PyTorch with the Keras workflow."""

__version__ = "0.1.0"
