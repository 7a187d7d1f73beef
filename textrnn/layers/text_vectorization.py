"""`TextVectorization`: raw strings → token ids or bag-of-words vectors, as Keras 3's layer.

The layer standardizes each string (`"lower_and_strip_punctuation"`: ASCII lower case, as
`tf.strings.lower`, then Keras's punctuation class removed), splits it (`"whitespace"` or
`"character"`), forms n-grams (joined with a space), and looks the tokens up in a vocabulary that
`adapt` learns: sorted by count, ties broken by the tokens in reverse order (Keras's
`np.lexsort(...)[::-1]`), truncated to `max_tokens` including the reserved indices. In
`output_mode="int"` index 0 is the padding token `""` and 1 is `"[UNK]"`; in the other modes
index 0 is `"[UNK]"`. `tf_idf` multiplies counts by Keras's `log(1 + documents / (1 + document
frequency))`, the OOV weight being the mean of the learned weights.

The vocabulary and IDF weights are part of `get_config()`, so a saved model (JSON config) keeps
them. Inside `fit` / `evaluate` / `predict` the trainer turns the strings into token ids once
(`token_ids`) and the layer finishes the encoding per batch (`encode_ids`).
"""

from __future__ import annotations

import contextlib
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch

from textrnn import checks
from textrnn.layers.base import Layer, Shape, is_text

PAD_TOKEN = ""
OOV_TOKEN = "[UNK]"
#: Keras's `DEFAULT_STRIP_REGEX` class: !"#$%&()*+,-./:;<=>?@[\]^_`{|}~ and the apostrophe.
_PUNCTUATION = re.compile(r"[!\"#$%&()*+,\-./:;<=>?@\[\\\]^_`{|}~']")
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_WHITESPACE = re.compile(r"[ \t\n\r\f\v]+")
_STANDARDIZE = ("lower_and_strip_punctuation", "lower", "strip_punctuation")
_SPLIT = ("whitespace", "character")
_MODES = ("int", "one_hot", "multi_hot", "count", "tf_idf")


def _strings(value: Any, argument: str = "inputs") -> list[str]:
    """A flat list of Python strings from `(n,)` or `(n, 1)` string data."""
    arr = np.asarray(value, dtype=object)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise ValueError(
            "When using `TextVectorization` to tokenize strings, the input rank must be 1 or the "
            f"last shape dimension must be 1. Received: {argument}.shape={arr.shape}"
        )
    out = []
    for s in arr.tolist():
        if isinstance(s, bytes):
            s = s.decode("utf-8")
        elif not isinstance(s, str):
            raise TypeError(
                f"`TextVectorization` expects strings, but `{argument}` holds {type(s).__name__} value {s!r}."
            )
        out.append(s)
    return out


class TextVectorization(Layer):
    """Turn raw strings into token ids or vectors (Keras's `keras.layers.TextVectorization`).

    Args:
        max_tokens: largest vocabulary size, reserved tokens included (`""` and `"[UNK]"` in
            `int` mode, `"[UNK]"` otherwise); None for no limit. Must be greater than 1.
        standardize: `"lower_and_strip_punctuation"` (default), `"lower"`,
            `"strip_punctuation"`, None, or a callable that takes a NumPy array of strings
            and returns the standardized strings (as Keras on its non-TensorFlow backends).
        split: `"whitespace"` (default), `"character"`, None (each string is one token), or a
            callable that takes a NumPy array of strings and returns one list of tokens per string.
        ngrams: None, an integer n (n-grams of sizes 1..n), or a tuple of sizes.
        output_mode: `"int"` (default; token ids, 0 padding), `"multi_hot"` (`"binary"`),
            `"count"`, `"tf_idf"` (`"tf-idf"`), or `"one_hot"` (with `split=None` only).
        output_sequence_length: `int` mode only: pad or truncate each row to this length;
            None pads to the longest row of the batch.
        pad_to_max_tokens: non-`int` modes: output `max_tokens` columns even when the
            vocabulary is smaller.
        vocabulary: a list of tokens (or a path to a file with one per line) instead of `adapt`.
        idf_weights: the IDF weight of each vocabulary token (`tf_idf` only, with `vocabulary`).
        sparse, ragged: must be False (Keras allows them on the TensorFlow backend only).
        encoding: the text encoding of bytes inputs, `"utf-8"`.
        name: layer name.

    Example:
        >>> layer = TextVectorization(output_sequence_length=4)
        >>> layer.adapt(["The cat sat.", "The dog!"])
        >>> layer.get_vocabulary()
        ['', '[UNK]', 'the', 'sat', 'dog', 'cat']
        >>> layer(["the cat, a dog"]).tolist()
        [[2, 5, 1, 4]]
    """

    def __init__(
        self,
        max_tokens: int | None = None,
        standardize: str | Callable[[Any], Any] | None = "lower_and_strip_punctuation",
        split: str | Callable[[Any], Any] | None = "whitespace",
        ngrams: int | tuple[int, ...] | None = None,
        output_mode: str = "int",
        output_sequence_length: int | None = None,
        pad_to_max_tokens: bool = False,
        vocabulary: Sequence[str] | str | None = None,
        idf_weights: Sequence[float] | None = None,
        sparse: bool = False,
        ragged: bool = False,
        encoding: str = "utf-8",
        *,
        name: str | None = None,
        trainable: bool = True,
    ) -> None:
        super().__init__(name=name, trainable=trainable)
        if sparse:
            raise ValueError("`sparse=True` can only be used with the TensorFlow backend.")
        if ragged:
            raise ValueError("`ragged=True` can only be used with the TensorFlow backend.")
        if not (standardize is None or callable(standardize) or standardize in _STANDARDIZE):
            raise checks.invalid("standardize", f"None, a callable or one of {_STANDARDIZE}", standardize)
        if not (split is None or callable(split) or split in _SPLIT):
            raise checks.invalid("split", f"None, a callable or one of {_SPLIT}", split)
        output_mode = {"binary": "multi_hot", "tf-idf": "tf_idf"}.get(output_mode, output_mode)
        checks.choice("output_mode", output_mode, _MODES)
        if output_mode == "one_hot" and split is not None:
            raise ValueError(
                "`output_mode='one_hot'` encodes one token per string: use it with `split=None`, "
                "or use `output_mode='multi_hot'` for several tokens per string."
            )
        ngram_ok = (
            ngrams is None
            or checks._is_int(ngrams)
            or (isinstance(ngrams, tuple) and all(checks._is_int(n) for n in ngrams))
        )
        if not ngram_ok:
            raise ValueError(
                f"`ngrams` must be None, an integer, or a tuple of integers. Received: ngrams={ngrams}"
            )
        if output_mode == "int" and not (
            output_sequence_length is None or checks._is_int(output_sequence_length)
        ):
            raise ValueError(
                "`output_sequence_length` must be either None or an integer when `output_mode` "
                f"is 'int'. Received: output_sequence_length={output_sequence_length}"
            )
        if output_mode != "int" and output_sequence_length is not None:
            raise ValueError(
                "`output_sequence_length` must not be set if `output_mode` is not 'int'. "
                f"Received output_sequence_length={output_sequence_length}."
            )
        if max_tokens is not None and (not checks._is_int(max_tokens) or max_tokens <= 1):
            raise ValueError(
                f"If set, `max_tokens` must be greater than 1. Received: max_tokens={max_tokens}"
            )
        if pad_to_max_tokens and max_tokens is None:
            raise ValueError("If pad_to_max_tokens is True, must set `max_tokens`. Received: max_tokens=None")
        if idf_weights is not None and output_mode != "tf_idf":
            raise ValueError(
                "`idf_weights` should only be set if output_mode is 'tf_idf'. "
                f"Received: output_mode={output_mode} and idf_weights={idf_weights}"
            )
        self.max_tokens = max_tokens
        self.standardize = standardize
        self.split = split
        self.ngrams = ngrams
        self._ngrams = tuple(range(1, ngrams + 1)) if isinstance(ngrams, int) else ngrams
        self.output_mode = output_mode
        self.output_sequence_length = output_sequence_length
        self.pad_to_max_tokens = checks.boolean("pad_to_max_tokens", pad_to_max_tokens)
        self.encoding = checks.string("encoding", encoding)
        self._tokens: list[str] = []
        self._index: dict[str, int] = {}
        self._idf: torch.Tensor | None = None  # (output columns,) float32, tf_idf only
        self._takes_ids = False
        if vocabulary is not None:
            self.set_vocabulary(vocabulary, idf_weights)
        elif idf_weights is not None:
            raise ValueError("`idf_weights` must be passed with a `vocabulary`.")
        # Strings have no shape to build for: the layer is ready at once, for (batch,) inputs.
        self.built = True
        self._build_input_shape = (None,)

    # ------------------------------------------------------------------ vocabulary
    @property
    def _start(self) -> int:
        """Index of the first learned token: after `""` and `"[UNK]"` (int) or `"[UNK]"`."""
        return 2 if self.output_mode == "int" else 1

    def _reserved(self) -> list[str]:
        return [PAD_TOKEN, OOV_TOKEN] if self.output_mode == "int" else [OOV_TOKEN]

    def get_vocabulary(self, include_special_tokens: bool = True) -> list[str]:
        """The vocabulary; with the special tokens, a token's position is its index."""
        return [*self._reserved(), *self._tokens] if include_special_tokens else list(self._tokens)

    def vocabulary_size(self) -> int:
        """The vocabulary's size, special tokens included."""
        return self._start + len(self._tokens)

    def set_vocabulary(
        self, vocabulary: Sequence[str] | str | Any, idf_weights: Sequence[float] | None = None
    ) -> None:
        """Set the vocabulary (and, for `tf_idf`, its IDF weights) instead of `adapt`.

        Args:
            vocabulary: tokens in index order (a list, tuple, 1-D array, or the path of a text
                file with one token per line); leading special tokens are accepted and skipped.
            idf_weights: one weight per token of `vocabulary`; required for `tf_idf` only.

        Raises:
            ValueError: for repeated tokens, a vocabulary above `max_tokens`, or missing or
                misplaced IDF weights.
        """
        if isinstance(vocabulary, (str, Path)):
            path = Path(vocabulary)
            if not path.is_file():
                raise ValueError(f"Vocabulary file {str(path)!r} does not exist.")
            vocab = path.read_text(encoding="utf-8").splitlines()
        else:
            vocab = _strings(list(vocabulary), "vocabulary") if len(vocabulary) else []
        if self.output_mode == "tf_idf" and idf_weights is None:
            raise ValueError(
                "`idf_weights` must be set if output_mode is 'tf_idf'. Received: idf_weights=None"
            )
        if idf_weights is not None and self.output_mode != "tf_idf":
            raise ValueError("`idf_weights` should only be set if output_mode is 'tf_idf'.")
        reserved = self._reserved()
        found_special = vocab[: len(reserved)] == reserved
        learned = vocab[len(reserved) :] if found_special else vocab
        repeated = sorted({t for t, c in Counter(learned).items() if c > 1})
        if repeated:
            raise ValueError(
                f"The passed vocabulary has at least one repeated term. Please uniquify your "
                f"dataset. The repeated terms are: {repeated}"
            )
        for special in reserved:
            if special in learned:
                raise ValueError(
                    f"Found reserved token {special!r} at index "
                    f"{self._start + learned.index(special)} of the vocabulary; it may only "
                    f"appear at index {reserved.index(special)}."
                )
        size = self._start + len(learned)
        if self.max_tokens is not None and size > self.max_tokens:
            raise ValueError(
                "Attempted to set a vocabulary larger than the maximum vocab size. Received "
                f"vocabulary size is {size}; `max_tokens` is {self.max_tokens}."
            )
        idf = None
        if idf_weights is not None:
            weights = np.asarray(idf_weights, dtype=np.float64).reshape(-1)
            if len(weights) != len(vocab):
                raise ValueError(
                    "`idf_weights` must be the same length as vocabulary. "
                    f"len(idf_weights) is {len(weights)}; len(vocabulary) is {len(vocab)}"
                )
            if not found_special:
                mean = float(weights.mean()) if len(weights) else 0.0
                weights = np.concatenate([np.full(self._start, mean), weights])
            idf = weights
        self._set(learned, idf)

    def _set(self, tokens: list[str], idf: np.ndarray | None) -> None:
        self._tokens = list(tokens)
        self._index = {t: i + self._start for i, t in enumerate(self._tokens)}
        if idf is None:
            self._idf = None
            return
        width = self._width()
        full = np.zeros(width, dtype=np.float32)
        full[: len(idf)] = idf[:width]
        self._idf = torch.from_numpy(full)

    def adapt(self, data: Any, batch_size: int | None = None, steps: int | None = None) -> None:
        """Learn the vocabulary (and document frequencies for `tf_idf`) from `data`.

        Args:
            data: strings: a list, a 1-D (or `(n, 1)`) NumPy array, or an iterable of such
                batches (a generator, a `text_dataset_from_directory` dataset: `(texts, labels)`
                batches use the texts).
            batch_size: ignored for arrays, as in Keras (accepted for its signature).
            steps: with an iterable, the number of batches to read (None: all).
        """
        steps = checks.optional_positive_int("steps", steps)
        counts: Counter[str] = Counter()
        doc_counts: Counter[str] = Counter()
        documents = 0
        for batch in self._adapt_batches(data, steps):
            for tokens in self._tokenize(_strings(batch, "data")):
                counts.update(tokens)
                if self.output_mode == "tf_idf":
                    doc_counts.update(set(tokens))
                documents += 1
        for special in (PAD_TOKEN, OOV_TOKEN):
            counts.pop(special, None)
        # Keras: np.lexsort((tokens, counts))[::-1]: count high to low, ties by token high to low.
        ranked = sorted(counts.items(), key=lambda kv: (kv[1], kv[0].encode("utf-8")), reverse=True)
        if self.max_tokens is not None:
            ranked = ranked[: self.max_tokens - self._start]
        tokens = [t for t, _ in ranked]
        idf = None
        if self.output_mode == "tf_idf":
            learned = np.array(
                [math.log(1 + documents / (1 + doc_counts[t])) for t in tokens], dtype=np.float32
            )
            mean = float(learned.mean()) if len(learned) else float("nan")
            idf = np.concatenate([np.full(self._start, mean, dtype=np.float32), learned])
        self._set(tokens, idf)

    @staticmethod
    def _adapt_batches(data: Any, steps: int | None) -> Iterator[Any]:
        if isinstance(data, (str, bytes)):
            raise TypeError("`adapt` expects a list or array of strings, got a single string.")
        if is_text(data) or isinstance(data, np.ndarray):
            yield data
            return
        if not isinstance(data, Iterable):
            raise TypeError(f"`adapt` expects strings or batches of strings, got {data!r:.100}.")
        for i, batch in enumerate(data):
            if steps is not None and i >= steps:
                break
            if isinstance(batch, tuple) and len(batch) in (2, 3) and not is_text(batch):
                batch = batch[0]  # (texts, labels) batches of a dataset
            elif isinstance(batch, (str, bytes)):
                batch = [batch]
            yield batch

    # ------------------------------------------------------------------ encoding
    def _tokenize(self, texts: list[str]) -> list[list[str]]:
        std = self.standardize
        if std in ("lower", "lower_and_strip_punctuation"):
            texts = [t.translate(_ASCII_LOWER) for t in texts]
        if std in ("strip_punctuation", "lower_and_strip_punctuation"):
            texts = [_PUNCTUATION.sub("", t) for t in texts]
        if callable(std):
            texts = [str(t) for t in np.asarray(std(np.asarray(texts, dtype=str))).reshape(-1)]
        if self.split is None:
            tokens = [[t] for t in texts]
        elif self.split == "whitespace":
            tokens = [[w for w in _WHITESPACE.split(t) if w] for t in texts]
        elif self.split == "character":
            tokens = [list(t) for t in texts]
        else:
            split = cast(Callable[[Any], Any], self.split)
            tokens = [[str(w) for w in row] for row in split(np.asarray(texts, dtype=str))]
            if len(tokens) != len(texts):
                raise ValueError(
                    f"The `split` callable returned {len(tokens)} token lists for {len(texts)} "
                    "strings; it must return one list of tokens per string."
                )
        if self._ngrams is not None:
            tokens = [self._with_ngrams(row) for row in tokens]
        return tokens

    def _with_ngrams(self, words: list[str]) -> list[str]:
        out: list[str] = []
        for n in self._ngrams or ():
            out.extend(" ".join(words[i : i + n]) for i in range(len(words) - n + 1))
        return out

    def _width(self) -> int:
        if self.pad_to_max_tokens and self.max_tokens is not None:
            return int(self.max_tokens)
        return self.vocabulary_size()

    def token_ids(self, inputs: Any, argument: str = "inputs") -> torch.Tensor:
        """Strings → `(batch, steps)` int64 token ids: in `int` mode the layer's output; in the
        other modes the ids to count (`encode_ids`), padded with -1."""
        rows = self._tokenize(_strings(inputs, argument))
        oov = 1 if self.output_mode == "int" else 0
        pad = 0 if self.output_mode == "int" else -1
        index = {**self._index, PAD_TOKEN: pad}  # the mask token "" is padding (Keras)
        ids = [[index.get(t, oov) for t in row] for row in rows]
        length = self.output_sequence_length
        if length is None:
            length = max((len(r) for r in ids), default=0)
        out = np.full((len(ids), length), pad, dtype=np.int64)
        for i, r in enumerate(ids):
            r = r[:length]
            out[i, : len(r)] = r
        return torch.from_numpy(out)

    def encode_ids(self, ids: torch.Tensor) -> torch.Tensor:
        """Token ids from `token_ids` → the layer's output for `output_mode`."""
        if self.output_mode == "int":
            if self.output_sequence_length is None and ids.shape[1] > 0:
                # Keras pads each batch to its own longest row: drop columns padded in every row.
                used = (ids != 0).any(dim=0).nonzero()
                ids = ids[:, : int(used.max()) + 1] if used.numel() else ids[:, :0]
            return ids.long()
        if self.output_mode != "int" and not self._tokens and self._idf is None:
            if not (self.pad_to_max_tokens and self.max_tokens is not None):
                raise ValueError(
                    f"`TextVectorization` layer `{self.name}` has no vocabulary: call `adapt()` "
                    "or `set_vocabulary()` before calling it with "
                    f"output_mode={self.output_mode!r}."
                )
        width = self._width()
        valid = ids >= 0
        counts = torch.zeros((ids.shape[0], width), dtype=torch.float32, device=ids.device)
        counts.scatter_add_(1, ids.long().clamp(min=0), valid.to(torch.float32))
        if self.output_mode in ("multi_hot", "one_hot"):
            return (counts > 0).to(torch.float32)
        if self.output_mode == "count":
            return counts
        if self._idf is None:
            raise ValueError(
                f"`TextVectorization` layer `{self.name}` has no IDF weights: call `adapt()` or "
                "`set_vocabulary(vocabulary, idf_weights)` first."
            )
        return counts * self._idf.to(counts.device)

    @contextlib.contextmanager
    def taking_ids(self) -> Iterator[None]:
        """Within it, the layer takes the ids of `token_ids` instead of strings (the trainer
        converts a dataset's strings once, then batches the ids)."""
        outer = self._takes_ids
        self._takes_ids = True
        try:
            yield
        finally:
            self._takes_ids = outer

    def forward(self, inputs: Any, mask: Any = None, training: bool | None = None, **kwargs: Any) -> Any:
        return self.call(inputs, mask=mask, training=bool(training))

    def call(
        self, inputs: Any, mask: torch.Tensor | None = None, training: bool = False, **kwargs: Any
    ) -> torch.Tensor:
        if isinstance(inputs, torch.Tensor) and self._takes_ids:
            return self.encode_ids(inputs)
        if not is_text(inputs):
            raise TypeError(
                f"`TextVectorization` layer `{self.name}` expects strings (a list or NumPy array "
                f"of str), got {type(inputs).__name__}."
            )
        out = self.encode_ids(self.token_ids(inputs))
        if self.split is None and self.output_mode == "int" and np.ndim(inputs) == 1:
            return out[:, 0] if out.shape[1] == 1 else out  # Keras: one id per string, (batch,)
        return out

    def compute_output_shape(self, input_shape: Shape) -> Any:
        batch = input_shape[0] if input_shape else None
        if self.output_mode == "int":
            return (batch, self.output_sequence_length)
        return (batch, self._width())

    def compute_mask(self, inputs: Any, mask: torch.Tensor | None = None) -> torch.Tensor | None:
        return None

    # ------------------------------------------------------------------ config
    def get_config(self) -> dict[str, Any]:
        """Keras's config keys; `vocabulary` and `idf_weights` hold the current vocabulary
        (learned by `adapt` or set), without the special tokens, so a saved model keeps it."""
        for arg in ("standardize", "split"):
            if callable(getattr(self, arg)):
                raise ValueError(
                    f"`TextVectorization` layer `{self.name}` has a callable `{arg}`, which "
                    "cannot be saved in a JSON config; pass a Keras name or None to save it."
                )
        idf = None
        if self._idf is not None:
            idf = [float(v) for v in self._idf[self._start : self.vocabulary_size()].tolist()]
        return {
            **super().get_config(),
            "max_tokens": self.max_tokens,
            "standardize": self.standardize,
            "split": self.split,
            "ngrams": list(self.ngrams) if isinstance(self.ngrams, tuple) else self.ngrams,
            "output_mode": self.output_mode,
            "output_sequence_length": self.output_sequence_length,
            "pad_to_max_tokens": self.pad_to_max_tokens,
            "sparse": False,
            "ragged": False,
            "vocabulary": list(self._tokens) if (self._tokens or idf is not None) else None,
            "idf_weights": idf,
            "encoding": self.encoding,
            "vocabulary_size": self.vocabulary_size(),
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> TextVectorization:
        config = dict(config)
        config.pop("vocabulary_size", None)  # derived from `vocabulary`
        if isinstance(config.get("ngrams"), list):
            config["ngrams"] = tuple(config["ngrams"])
        return cls(**config)

    def extra_repr(self) -> str:
        return f"name={self.name!r}, output_mode={self.output_mode!r}"
