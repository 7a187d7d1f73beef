"""The constant initialisers used by Keras 3's own recurrent layer tests."""

from textrnn.initializers import Constant


def constant_init(kernel: float = 0.01, recurrent: float = 0.02, bias: float = 0.03) -> dict:
    return {
        "kernel_initializer": Constant(kernel),
        "recurrent_initializer": Constant(recurrent),
        "bias_initializer": Constant(bias),
    }
