"""`import textrnn as keras`: Keras's top-level names, loaded lazily."""

from __future__ import annotations

import subprocess
import sys

import textrnn as keras


def test_names_without_further_imports():
    assert keras.Sequential is keras.models.Sequential
    for name in (
        "Embedding",
        "LSTM",
        "GRU",
        "SimpleRNN",
        "Bidirectional",
        "Dense",
        "Dropout",
        "Conv1D",
        "MaxPooling1D",
        "GlobalMaxPool1D",
        "Flatten",
        "Activation",
        "Masking",
        "BatchNormalization",
    ):
        assert isinstance(getattr(keras.layers, name), type)
    assert callable(keras.utils.to_categorical) and callable(keras.utils.get_file)
    assert callable(keras.utils.pad_sequences) and callable(keras.utils.set_random_seed)
    assert callable(keras.datasets.imdb.load_data) and callable(keras.datasets.imdb.get_word_index)
    assert (
        keras.callbacks.EarlyStopping
        and keras.callbacks.ReduceLROnPlateau
        and keras.callbacks.LearningRateScheduler
    )
    assert (
        keras.optimizers.RMSprop
        and keras.optimizers.AdamW
        and keras.optimizers.Nadam
        and keras.optimizers.Adagrad
    )
    assert keras.losses.BinaryCrossentropy and keras.initializers.Constant and keras.activations.get
    assert keras.preprocessing.sequence.pad_sequences is keras.utils.pad_sequences
    assert keras.preprocessing.text.Tokenizer.__name__ == "Tokenizer"
    assert callable(keras.models.load_model) and callable(keras.load) and keras.__version__
    assert {"layers", "Sequential", "utils", "load"} <= set(dir(keras))


def test_unknown_name_is_an_attribute_error():
    try:
        keras.NoSuchThing  # noqa: B018
    except AttributeError as err:
        assert "has no attribute 'NoSuchThing'" in str(err)
    else:
        raise AssertionError("textrnn.NoSuchThing should not exist")


def test_functional_api_names():
    from textrnn.layers import Input, InputLayer
    from textrnn.models import Model

    assert keras.Model is Model and keras.Input is Input and keras.layers.Input is Input
    assert keras.InputLayer is InputLayer and "Model" in dir(keras)


def test_import_stays_lazy():
    code = "import sys, textrnn; print('torch' in sys.modules, 'textrnn.layers' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]
