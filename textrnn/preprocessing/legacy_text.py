"""Keras 2's `keras.preprocessing.text.Tokenizer`, with its exact behaviour.

Much published code still builds its vocabulary with this class: `fit_on_texts`, then
`texts_to_sequences` and `pad_sequences`. Word ranks, out-of-vocabulary handling, the `num_words`
cut (only indices below `num_words` are kept), the matrix modes and the JSON format are Keras 2's,
so a tokenizer saved with `to_json()` by Keras loads here and the other way round.
"""

from __future__ import annotations

import json
import math
from collections import OrderedDict, defaultdict
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

from textrnn import checks
from textrnn.preprocessing.text import DEFAULT_FILTERS, text_to_word_sequence

_MODES = ("binary", "count", "tfidf", "freq")


class Tokenizer:
    """Turns texts into sequences of word indices (or bag-of-words matrices), ranked by frequency.

    Args:
        num_words: keep only the words of index below `num_words` (the `num_words - 1` most
            frequent) when converting texts; None (default) keeps all. `word_index` always holds
            every word seen.
        filters: characters removed from the texts, default all punctuation but `'`, plus tab
            and newline.
        lower: lower-case the texts, default True.
        split: the word separator, default `" "`.
        char_level: every character is a token, default False.
        oov_token: if given, it gets index 1 and stands for every unknown (or cut) word in
            `texts_to_sequences`; without it unknown words are dropped.
        document_count: the number of texts already seen (used by `tokenizer_from_json`).

    Index 0 is never assigned (it is padding). Words with equal counts keep the order in which
    they were first seen.

    Example:
        >>> tok = Tokenizer(num_words=100, oov_token="<OOV>")
        >>> tok.fit_on_texts(["The cat sat.", "The dog sat down."])
        >>> tok.word_index
        {'<OOV>': 1, 'the': 2, 'sat': 3, 'cat': 4, 'dog': 5, 'down': 6}
        >>> tok.texts_to_sequences(["the bird sat"])
        [[2, 1, 3]]
    """

    def __init__(
        self,
        num_words: int | None = None,
        filters: str = DEFAULT_FILTERS,
        lower: bool = True,
        split: str = " ",
        char_level: bool = False,
        oov_token: str | None = None,
        document_count: int = 0,
    ) -> None:
        if num_words is not None:
            checks.non_negative_int("num_words", num_words)
        self.num_words = num_words
        self.filters = checks.string("filters", filters, empty=True)
        self.lower = bool(lower)
        self.split = checks.string("split", split)
        self.char_level = bool(char_level)
        if oov_token is not None and not isinstance(oov_token, str):
            raise checks.invalid("oov_token", "None or a string", oov_token, error=TypeError)
        self.oov_token = oov_token
        self.document_count = checks.non_negative_int("document_count", document_count)
        self.word_counts: dict[str, int] = OrderedDict()
        self.word_docs: dict[str, int] = defaultdict(int)
        self.index_docs: dict[int, int] = defaultdict(int)
        self.word_index: dict[str, int] = {}
        self.index_word: dict[int, str] = {}

    def _tokens(self, text: Any) -> list[str]:
        if self.char_level or isinstance(text, list):
            if isinstance(text, list):
                return [t.lower() for t in text] if self.lower else list(text)
            if not isinstance(text, str):
                raise TypeError(f"Tokenizer expects strings or lists of strings, got {type(text).__name__}.")
            return list(text.lower() if self.lower else text)
        return text_to_word_sequence(text, self.filters, self.lower, self.split)

    def fit_on_texts(self, texts: Iterable[Any]) -> None:
        """Count the words of `texts` (strings, or lists of tokens) and rank them by frequency.

        Can be called several times: counts add up and the ranks are recomputed.
        """
        if isinstance(texts, str):
            raise TypeError("`fit_on_texts` expects a list of texts, got a single string. Wrap it in a list.")
        for text in texts:
            self.document_count += 1
            seq = self._tokens(text)
            for w in seq:
                self.word_counts[w] = self.word_counts.get(w, 0) + 1
            for w in set(seq):
                self.word_docs[w] += 1
        # a stable sort: equal counts keep first-seen order, as Keras's
        ranked = sorted(self.word_counts.items(), key=lambda wc: wc[1], reverse=True)
        vocab = ([self.oov_token] if self.oov_token is not None else []) + [w for w, _ in ranked]
        self.word_index = {w: i for i, w in enumerate(vocab, start=1)}
        self.index_word = {i: w for w, i in self.word_index.items()}
        for w, c in list(self.word_docs.items()):
            self.index_docs[self.word_index[w]] = c

    def fit_on_sequences(self, sequences: Iterable[Iterable[int]]) -> None:
        """Count document frequencies of indices (for `sequences_to_matrix(mode="tfidf")`)."""
        sequences = list(sequences)
        self.document_count += len(sequences)
        for seq in sequences:
            for i in set(seq):
                self.index_docs[i] += 1

    def texts_to_sequences_generator(self, texts: Iterable[Any]) -> Iterator[list[int]]:
        """`texts_to_sequences`, one sequence at a time."""
        oov = self.word_index.get(self.oov_token) if self.oov_token is not None else None
        for text in texts:
            vect = []
            for w in self._tokens(text):
                i = self.word_index.get(w)
                if i is not None and not (self.num_words and i >= self.num_words):
                    vect.append(i)
                elif oov is not None:
                    vect.append(oov)
            yield vect

    def texts_to_sequences(self, texts: Iterable[Any]) -> list[list[int]]:
        """Each text as a list of word indices; unknown words (and those at or beyond
        `num_words`) become `oov_token`'s index, or are dropped without one."""
        if isinstance(texts, str):
            raise TypeError(
                "`texts_to_sequences` expects a list of texts, got a single string. Wrap it in a list."
            )
        return list(self.texts_to_sequences_generator(texts))

    def sequences_to_texts_generator(self, sequences: Iterable[Iterable[int]]) -> Iterator[str]:
        """`sequences_to_texts`, one text at a time."""
        oov = self.word_index.get(self.oov_token) if self.oov_token is not None else None
        for seq in sequences:
            words = []
            for num in seq:
                word = self.index_word.get(num)
                if word is not None and not (self.num_words and num >= self.num_words):
                    words.append(word)
                elif oov is not None:
                    words.append(self.index_word[oov])
            yield " ".join(words)

    def sequences_to_texts(self, sequences: Iterable[Iterable[int]]) -> list[str]:
        """Each sequence of indices back to a space-joined text (the same cut as above)."""
        return list(self.sequences_to_texts_generator(sequences))

    def texts_to_matrix(self, texts: Iterable[Any], mode: str = "binary") -> np.ndarray:
        """`sequences_to_matrix(texts_to_sequences(texts), mode)`."""
        return self.sequences_to_matrix(self.texts_to_sequences(texts), mode=mode)

    def sequences_to_matrix(self, sequences: Iterable[Iterable[int]], mode: str = "binary") -> np.ndarray:
        """A `(len(sequences), num_words)` float64 matrix, one row per sequence.

        Args:
            mode: `"binary"` (1 where a word occurs), `"count"`, `"freq"` (count / sequence
                length) or `"tfidf"` (`(1 + log count) · log(1 + documents / (1 + document
                frequency))`).

        Raises:
            ValueError: for another mode, with neither `num_words` nor a fitted vocabulary, or
                for tfidf before any fit.
        """
        if mode not in _MODES:
            raise checks.invalid("mode", "one of " + ", ".join(repr(m) for m in _MODES), mode)
        if self.num_words:
            num_words = self.num_words
        elif self.word_index:
            num_words = len(self.word_index) + 1
        else:
            raise ValueError("Specify a dimension (`num_words` argument), or fit on some text data first.")
        if mode == "tfidf" and not self.document_count:
            raise ValueError("Fit the Tokenizer on some data before using tfidf mode.")
        seqs = [list(s) for s in sequences]
        x = np.zeros((len(seqs), num_words))
        for row, seq in enumerate(seqs):
            counts: dict[int, int] = defaultdict(int)
            for j in seq:
                if j < num_words:
                    counts[j] += 1
            for j, c in counts.items():
                if mode == "count":
                    x[row, j] = c
                elif mode == "freq":
                    x[row, j] = c / len(seq)
                elif mode == "binary":
                    x[row, j] = 1
                else:
                    idf = math.log(1 + self.document_count / (1 + self.index_docs.get(j, 0)))
                    x[row, j] = (1 + math.log(c)) * idf
        return x

    def get_config(self) -> dict[str, Any]:
        """Keras 2's config: the settings, and the count dictionaries as JSON strings."""
        return {
            "num_words": self.num_words,
            "filters": self.filters,
            "lower": self.lower,
            "split": self.split,
            "char_level": self.char_level,
            "oov_token": self.oov_token,
            "document_count": self.document_count,
            "word_counts": json.dumps(self.word_counts),
            "word_docs": json.dumps(self.word_docs),
            "index_docs": json.dumps(self.index_docs),
            "index_word": json.dumps(self.index_word),
            "word_index": json.dumps(self.word_index),
        }

    def to_json(self, **kwargs: Any) -> str:
        """The JSON string `tokenizer_from_json` (Keras's or textrnn's) reads; `kwargs` go to
        `json.dumps`."""
        return json.dumps({"class_name": "Tokenizer", "config": self.get_config()}, **kwargs)


def tokenizer_from_json(json_string: str) -> Tokenizer:
    """A `Tokenizer` from the JSON of `Tokenizer.to_json()` (Keras's or textrnn's).

    Raises:
        ValueError: if the string is not a tokenizer's JSON.
    """
    try:
        payload = json.loads(json_string)
        config = dict(payload["config"])
        word_counts = json.loads(config.pop("word_counts"))
        word_docs = json.loads(config.pop("word_docs"))
        index_docs = {int(k): v for k, v in json.loads(config.pop("index_docs")).items()}
        index_word = {int(k): v for k, v in json.loads(config.pop("index_word")).items()}
        word_index = json.loads(config.pop("word_index"))
    except (TypeError, KeyError, ValueError, AttributeError) as err:
        raise ValueError(f"Not a Tokenizer's JSON (from `Tokenizer.to_json()`): {err}.") from None
    tokenizer = Tokenizer(**config)
    tokenizer.word_counts = OrderedDict(word_counts)
    tokenizer.word_docs = defaultdict(int, word_docs)
    tokenizer.index_docs = defaultdict(int, index_docs)
    tokenizer.word_index = word_index
    tokenizer.index_word = index_word
    return tokenizer
