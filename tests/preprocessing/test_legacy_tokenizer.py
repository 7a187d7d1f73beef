"""Keras 2's `Tokenizer`: textrnn's matches outputs recorded from keras-preprocessing's own class
(tests/fixtures/make_keras_fixtures.py, `tokenizer_cases`)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import textrnn as keras
from textrnn.preprocessing.text import Tokenizer, text_to_word_sequence, tokenizer_from_json

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "keras" / "extra" / "tokenizer.json"
DATA = json.loads(FIXTURE.read_text())
SETTINGS = sorted(k for k, v in DATA["cases"].items() if isinstance(v, dict) and "kwargs" in v)


def fitted(kwargs: dict) -> Tokenizer:
    tok = Tokenizer(**kwargs)
    tok.fit_on_texts(DATA["texts"])
    return tok


@pytest.mark.parametrize("name", SETTINGS)
def test_vocabulary_matches_keras(name):
    case = DATA["cases"][name]
    tok = fitted(case["kwargs"])
    assert tok.word_index == case["word_index"]
    assert dict(tok.word_counts) == case["word_counts"]
    assert list(tok.word_counts) == list(json.loads(json.loads(case["json"])["config"]["word_counts"]))
    assert dict(tok.word_docs) == case["word_docs"]
    assert {str(k): v for k, v in tok.index_docs.items()} == case["index_docs"]
    assert tok.document_count == case["document_count"]
    assert tok.index_word == {i: w for w, i in case["word_index"].items()}


@pytest.mark.parametrize("name", SETTINGS)
def test_sequences_texts_and_matrices_match_keras(name):
    case = DATA["cases"][name]
    tok = fitted(case["kwargs"])
    seqs = tok.texts_to_sequences(DATA["probe"])
    assert seqs == case["sequences"]
    assert tok.sequences_to_texts(seqs + [[1, 2, 3, 99, 0]]) == case["texts"]
    for mode, expected in case["matrix"].items():
        got = tok.texts_to_matrix(DATA["probe"], mode=mode)
        assert got.dtype == np.float64
        np.testing.assert_allclose(got, np.array(expected), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", SETTINGS)
def test_json_round_trips_both_ways(name):
    case = DATA["cases"][name]
    from_keras = tokenizer_from_json(case["json"])  # a file Keras wrote
    assert from_keras.word_index == case["word_index"]
    assert from_keras.texts_to_sequences(DATA["probe"]) == case["sequences"]
    ours = json.loads(fitted(case["kwargs"]).to_json())
    theirs = json.loads(case["json"])
    assert ours["class_name"] == theirs["class_name"] == "Tokenizer"
    for key, value in theirs["config"].items():
        mine = ours["config"][key]
        if isinstance(value, str) and key.startswith(("word_", "index_")):
            assert json.loads(mine) == json.loads(value), key
        else:
            assert mine == value, key


def test_token_lists_and_text_to_word_sequence():
    tok = Tokenizer(oov_token="?")
    tok.fit_on_texts([["Alpha", "beta"], ["beta", "gamma", "beta"]])
    assert tok.word_index == DATA["cases"]["token_lists"]["word_index"]
    assert tok.texts_to_sequences([["beta", "delta", "ALPHA"]]) == DATA["cases"]["token_lists"]["sequences"]
    assert [text_to_word_sequence(t) for t in DATA["texts"]] == DATA["cases"]["text_to_word_sequence"]


def test_fit_twice_adds_counts_and_fit_on_sequences():
    tok = Tokenizer()
    tok.fit_on_texts(["b a"])
    tok.fit_on_texts(["a c"])
    assert tok.word_index == {"a": 1, "b": 2, "c": 3} and tok.document_count == 2
    tok2 = Tokenizer(num_words=4)
    tok2.fit_on_sequences([[1, 2, 2], [2, 3]])
    assert tok2.document_count == 2 and dict(tok2.index_docs) == {1: 1, 2: 2, 3: 1}
    m = tok2.sequences_to_matrix([[1, 2, 2]], mode="tfidf")
    np.testing.assert_allclose(m[0, 2], (1 + np.log(2)) * np.log(1 + 2 / 3))


def test_errors():
    with pytest.raises(ValueError, match="Specify a dimension"):
        Tokenizer().texts_to_matrix(["a"])
    with pytest.raises(ValueError, match="before using tfidf"):
        Tokenizer(num_words=3).sequences_to_matrix([[1]], mode="tfidf")
    tok = fitted({})
    with pytest.raises(ValueError, match="argument `mode`"):
        tok.texts_to_matrix(["a"], mode="onehot")
    with pytest.raises(TypeError, match="single string"):
        tok.texts_to_sequences("the cat")
    with pytest.raises(ValueError, match="argument `num_words`"):
        Tokenizer(num_words=-1)
    with pytest.raises(ValueError, match="Not a Tokenizer's JSON"):
        tokenizer_from_json('{"config": {}}')


def test_reachable_as_keras_preprocessing_text():
    assert keras.preprocessing.text.Tokenizer is Tokenizer
    assert keras.preprocessing.text.tokenizer_from_json is tokenizer_from_json
