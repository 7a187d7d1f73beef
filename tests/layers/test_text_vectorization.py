"""TextVectorization against Keras 3's own outputs (tests/fixtures/keras/extra/
text_vectorization.json, written by tests/fixtures/make_keras_fixtures.py), plus configs, saving,
errors and models that take raw strings."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

import textrnn as keras
from textrnn.layers import TextVectorization

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "keras" / "extra"
DATA = json.loads((FIXTURE / "text_vectorization.json").read_text(encoding="utf-8"))


def lower_no_vowels(texts):
    out = np.char.lower(texts)
    for vowel in "aeiou":
        out = np.char.replace(out, vowel, "")
    return out


def make(kwargs):
    kwargs = dict(kwargs)
    if kwargs.get("standardize") == "_lower_no_vowels":
        kwargs["standardize"] = lower_no_vowels
    if isinstance(kwargs.get("ngrams"), list):
        kwargs["ngrams"] = tuple(kwargs["ngrams"])
    return TextVectorization(**kwargs)


@pytest.mark.parametrize("name", sorted(DATA["cases"]))
def test_matches_keras(name):
    case = DATA["cases"][name]
    layer = make(case["kwargs"])
    if "set_vocabulary" in case:
        layer.set_vocabulary(**case["set_vocabulary"])
    elif "vocabulary" not in case["kwargs"]:
        layer.adapt(DATA["corpus"])
    assert layer.get_vocabulary() == case["vocabulary"]
    assert layer.vocabulary_size() == case["vocabulary_size"]
    out = layer(np.array(DATA["probe"]))
    expected = np.asarray(case["output"], dtype=np.float64)
    assert tuple(out.shape) == expected.shape
    np.testing.assert_allclose(out.numpy().astype(np.float64), expected, rtol=1e-5, atol=1e-5)
    # a list of str gives the same as a NumPy array, and so does a (n, 1) array
    torch.testing.assert_close(layer(list(DATA["probe"])), out)
    column = layer(np.array(DATA["probe"])[:, None])
    torch.testing.assert_close(column.reshape(out.shape), out)


@pytest.mark.parametrize("name", ["default", "tf_idf_pad", "ngrams_1_3", "count_ngrams_2"])
def test_config_keeps_the_vocabulary_through_json(name):
    case = DATA["cases"][name]
    layer = make(case["kwargs"])
    layer.adapt(DATA["corpus"])
    config = json.loads(json.dumps(layer.get_config()))
    twin = TextVectorization.from_config(config)
    assert twin.get_vocabulary() == layer.get_vocabulary()
    torch.testing.assert_close(twin(DATA["probe"]), layer(DATA["probe"]))


def test_vocabulary_without_special_tokens_and_include_special_tokens():
    layer = TextVectorization(max_tokens=4)
    layer.adapt(["a a b c", "b"])
    assert layer.get_vocabulary() == ["", "[UNK]", "b", "a"]
    assert layer.get_vocabulary(include_special_tokens=False) == ["b", "a"]
    layer.set_vocabulary(["", "[UNK]", "x"])  # leading special tokens are accepted
    assert layer.get_vocabulary() == ["", "[UNK]", "x"]


def test_adapt_on_batches_and_a_vocabulary_file(tmp_path):
    def batches():
        yield ["the cat", "the dog"]
        yield (np.array(["the end"]), np.array([1]))  # (texts, labels): the texts count

    layer = TextVectorization()
    layer.adapt(batches())
    assert layer.get_vocabulary()[:3] == ["", "[UNK]", "the"]
    path = tmp_path / "vocab.txt"
    path.write_text("end\nthe\n", encoding="utf-8")
    layer.set_vocabulary(str(path))
    assert layer(["the end x"]).tolist() == [[3, 2, 1]]


def test_callable_split_gets_the_batch():
    layer = TextVectorization(split=lambda a: [s.split(",") for s in a], standardize=None)
    layer.adapt(["a,b,b", "c"])
    assert layer.get_vocabulary() == ["", "[UNK]", "b", "c", "a"]
    assert layer(["b,z"]).tolist() == [[2, 1]]


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"max_tokens": 1}, ValueError, "`max_tokens` must be greater than 1"),
        ({"ngrams": 1.5}, ValueError, "`ngrams` must be None, an integer"),
        (
            {"output_mode": "count", "output_sequence_length": 4},
            ValueError,
            "must not be set if `output_mode` is not 'int'",
        ),
        ({"output_mode": "int", "output_sequence_length": "4"}, ValueError, "either None or an integer"),
        ({"output_mode": "words"}, ValueError, "`output_mode`"),
        ({"standardize": "upper"}, ValueError, "`standardize`"),
        ({"split": "comma"}, ValueError, "`split`"),
        ({"pad_to_max_tokens": True, "output_mode": "count"}, ValueError, "must set `max_tokens`"),
        ({"sparse": True}, ValueError, "TensorFlow backend"),
        ({"output_mode": "tf_idf", "vocabulary": ["a"]}, ValueError, "`idf_weights` must be set"),
        ({"vocabulary": ["a", "a"]}, ValueError, "repeated term"),
        ({"max_tokens": 3, "vocabulary": ["a", "b"]}, ValueError, "larger than the maximum"),
        ({"idf_weights": [1.0]}, ValueError, "only be set if output_mode is 'tf_idf'"),
    ],
)
def test_errors_as_keras(kwargs, error, match):
    with pytest.raises(error, match=match):
        TextVectorization(**kwargs)


def test_calls_that_cannot_work_are_explained():
    layer = TextVectorization(output_mode="multi_hot")
    with pytest.raises(ValueError, match="no vocabulary"):
        layer(["a b"])
    with pytest.raises(TypeError, match="expects strings"):
        layer(torch.zeros(2, 3))
    with pytest.raises(ValueError, match="rank must be 1"):
        layer(np.array([["a", "b"]]))


# ---------------------------------------------------------------- models on raw strings
TEXTS = [
    "good fun film",
    "bad boring film",
    "great fun",
    "awful bad plot",
    "fun good great",
    "boring awful",
] * 8
LABELS = np.array([1, 0, 1, 0, 1, 0] * 8, dtype="float32")


def string_model(mode="int"):
    keras.utils.set_random_seed(3)
    vec = TextVectorization(
        max_tokens=20, output_mode=mode, output_sequence_length=4 if mode == "int" else None
    )
    vec.adapt(TEXTS)
    if mode == "int":
        body = [keras.layers.Embedding(20, 8), keras.layers.GlobalAveragePooling1D()]
    else:
        body = [keras.layers.Dense(8, activation="relu")]
    model = keras.Sequential([vec, *body, keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="binary_crossentropy", metrics=["accuracy"])
    return model


@pytest.mark.parametrize("mode", ["int", "multi_hot", "tf_idf"])
def test_a_model_trains_and_predicts_on_raw_strings(mode, tmp_path):
    model = string_model(mode)
    history = model.fit(
        np.array(TEXTS), LABELS, epochs=15, batch_size=8, verbose=0, validation_data=(TEXTS[:12], LABELS[:12])
    )
    assert history.history["accuracy"][-1] == 1.0
    probs = model.predict(["good fun", "bad boring"], verbose=0)
    assert probs[0, 0] > 0.5 > probs[1, 0]
    torch.testing.assert_close(model(["good fun", "bad boring"]).detach(), torch.from_numpy(probs))
    loss, acc = model.evaluate(TEXTS, LABELS, verbose=0)
    assert acc == 1.0
    model.save(tmp_path / "m")
    loaded = keras.models.load_model(tmp_path / "m")
    assert loaded.layers[0].get_vocabulary() == model.layers[0].get_vocabulary()
    np.testing.assert_allclose(loaded.predict(["good fun", "bad boring"], verbose=0), probs, rtol=1e-6)


def test_int_mode_without_length_pads_each_batch_to_its_longest():
    vec = TextVectorization()
    vec.adapt(["a b c d", "a"])
    with vec.taking_ids():
        ids = vec.token_ids(["a b c d", "a", "a b"])
        assert tuple(vec.encode_ids(ids[1:]).shape) == (2, 2)  # as Keras on that batch
    assert tuple(vec(["a", "a b"]).shape) == (2, 2)


def test_strings_for_a_model_without_text_vectorization_are_refused():
    model = keras.Sequential(
        [
            keras.layers.Embedding(10, 4),
            keras.layers.GlobalAveragePooling1D(),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(loss="binary_crossentropy")
    with pytest.raises(TypeError, match="holds strings"):
        model.fit(np.array(["a b", "c"]), np.array([0, 1]), verbose=0)
    text_model = string_model()
    with pytest.raises(TypeError, match="must hold strings"):
        text_model.fit(np.zeros((2, 3)), np.array([0, 1]), verbose=0)
