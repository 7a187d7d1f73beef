"""Tokenisation and vocabularies: raw text to the integers Keras's IMDB data uses.

`tokenize` is the one tokenisation textrnn uses everywhere (IMDB loader, CLI, predictor), and a
`Vocabulary` holds the word ranks together with Keras's encoding conventions (`start_char`,
`oov_char`, `index_from`, `num_words`, `skip_top`), so a saved model turns raw text into exactly the
integers it was trained on.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import json
import os
import re
import tempfile
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from itertools import chain, repeat
from pathlib import Path
from typing import Any

import numpy as np

from textrnn import checks

DEFAULT_FILTERS = '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n'
"""Keras's default `filters`: punctuation, tab and newline (not the apostrophe)."""

TOKENIZER_VERSION = "textrnn-imdb-1"
"""Names the behaviour of `tokenize`; stored with vocabularies and caches, changed when it changes."""

START_TOKEN = "[START]"
OOV_TOKEN = "[OOV]"
UNKNOWN_TOKEN = "[UNK]"

_VOCAB_FORMAT = "textrnn.vocabulary"
_VOCAB_FORMAT_VERSION = 1
BR_TAG = re.compile(r"<br\s*/?>", re.IGNORECASE)


# ASCII whitespace that `str.split()` splits on besides the space; see `_split_words`.
_OTHER_ASCII_SPACE = ("\t", "\n", "\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x1f")


@functools.lru_cache(maxsize=16)
def _translate_table(filters: str, split: str) -> dict[int, str]:
    return str.maketrans(dict.fromkeys(filters, split))


@functools.lru_cache(maxsize=16)
def _byte_table(filters: str) -> bytes | None:
    """A bytes table mapping each filter to a space, when all filters are ASCII (else None)."""
    if not filters.isascii():
        return None
    return bytes.maketrans(filters.encode("ascii"), b" " * len(filters))


def _split_words(text: str, filters: str, split: str) -> list[str]:
    """Keras's replace-filters, split, drop-empties on an already lower-cased text, fast.

    Translating the UTF-8 bytes is ~8x faster than `str.translate` and the same when the filters
    are ASCII (multi-byte UTF-8 sequences contain no ASCII byte). `str.split()` is the same as
    `split(" ")` without empties when the only whitespace left is the space.
    """
    table = _byte_table(filters) if split == " " else None
    if table is None:
        return list(filter(None, text.translate(_translate_table(filters, split)).split(split)))
    text = text.encode("utf-8", "surrogatepass").translate(table).decode("utf-8", "surrogatepass")
    if text.isascii() and not any(c in text for c in _OTHER_ASCII_SPACE):
        return text.split()
    return list(filter(None, text.split(" ")))


# `BR_TAG` on UTF-8 bytes: `\s` written out as the UTF-8 of every character a str pattern's `\s`
# matches (those `str.isspace()` accepts), so it matches exactly where `BR_TAG` does on the
# decoded text (a match starts at "<" and consumes whole characters). Case is not ignored: it
# runs on lower-cased text, where only "b" and "r" match them ignoring case.
_SPACE_UTF8 = (
    rb"[\t\n\x0b\x0c\r\x1c-\x1f ]|\xc2[\x85\xa0]|\xe1\x9a\x80|\xe2\x80[\x80-\x8a\xa8\xa9\xaf]"
    rb"|\xe2\x81\x9f|\xe3\x80\x80"
)
_BR_TAG_UTF8 = re.compile(rb"<br(?:" + _SPACE_UTF8 + rb")*/?>")


def _text_buffer(texts: list[str]) -> bytes | None:
    """The texts as `tokenize` sees them before splitting, as one UTF-8 buffer with a NUL byte
    between texts: lower-cased, `<br />` tags and `DEFAULT_FILTERS` turned into spaces. None if a
    text holds a NUL itself or is not a string.

    Each step does what `tokenize` does to each text: lower-casing is per text, a tag never
    spans a NUL (no space, slash or bracket), NUL is no filter, and every filter is one byte.
    """
    try:
        data = b"\0".join([t.encode("utf-8", "surrogatepass") for t in map(str.lower, texts)])
    except TypeError:
        return None
    if data.count(b"\0") != len(texts) - 1:
        return None
    if b"<" in data:
        data = _BR_TAG_UTF8.sub(b" ", data)
    table = _byte_table(DEFAULT_FILTERS)
    if table is None:  # the default filters are ASCII: never
        return None
    return data.translate(table)


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic GC while building many small lists (it would rescan them over and over)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def text_to_word_sequence(
    input_text: str,
    filters: str = DEFAULT_FILTERS,
    lower: bool = True,
    split: str = " ",
) -> list[str]:
    """Splits a text into a list of words (Keras's `text_to_word_sequence`).

    Lower-cases the text (if `lower`), replaces every character of `filters` by `split`, splits on
    `split` and drops the empty strings.

    Args:
        input_text: the text.
        filters: characters to remove, Keras's default punctuation plus tab and newline
            (`DEFAULT_FILTERS`); the apostrophe is kept, so "don't" is one word.
        lower: whether to lower-case the text first, default True.
        split: the word separator, a non-empty string, default `" "`.

    Returns:
        The list of words.

    Raises:
        TypeError: if `input_text` is not a string.
        ValueError: if `split` is empty.

    Example:
        >>> text_to_word_sequence("Hello, World! It's 9:30.")
        ['hello', 'world', "it's", '9', '30']
    """
    if not isinstance(input_text, str):
        raise TypeError(f"Expected `input_text` to be a string, got {type(input_text).__name__}.")
    if not isinstance(split, str) or not split:
        raise checks.invalid("split", "a non-empty string", split)
    if not isinstance(filters, str):
        raise TypeError(f"Expected `filters` to be a string, got {type(filters).__name__}.")
    if lower:
        input_text = input_text.lower()
    return _split_words(input_text, filters, split)


def tokenize(text: str) -> list[str]:
    """The IMDB tokenisation used everywhere in textrnn.

    Exactly two steps:

    1. every HTML line break tag, `<br />`, `<br/>` or `<br>` (any case, any spaces before the
       slash), becomes a space;
    2. `text_to_word_sequence` with Keras's defaults: lower-case, each character of
       `DEFAULT_FILTERS` (`!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~`, tab, newline) becomes a space, split on
       spaces, empty strings dropped. Apostrophes and all other characters (digits, accents,
       `'`, `\\r`) stay inside words.

    A change to these rules changes `TOKENIZER_VERSION`.

    Args:
        text: a raw review or any text.

    Returns:
        The list of tokens.

    Raises:
        TypeError: if `text` is not a string.

    Example:
        >>> tokenize("Great film!<br /><br />I'd see it AGAIN.")
        ['great', 'film', "i'd", 'see', 'it', 'again']
    """
    if not isinstance(text, str):
        raise TypeError(f"Expected `text` to be a string, got {type(text).__name__}.")
    # Lower-casing first is the same as the documented order: no character lower-cases into
    # "<", "b", "r", "/", ">" or a space, and the tag pattern ignores case.
    text = text.lower()
    if "<" in text:
        text = BR_TAG.sub(" ", text)
    return _split_words(text, DEFAULT_FILTERS, " ")


def _check_optional(name: str, value: Any, minimum: int) -> int | None:
    return None if value is None else _check_int(name, value, minimum, allow_none=True)


def _check_int(name: str, value: Any, minimum: int, *, allow_none: bool = False) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        expected = "a positive integer" if minimum == 1 else "a non-negative integer"
        if allow_none:
            expected = "None or " + expected
        raise checks.invalid(name, expected, value)
    return int(value)


def _check_texts(name: str, texts: Any) -> None:
    if isinstance(texts, (str, bytes)):
        raise TypeError(
            f"Expected `{name}` to be a list of texts, got a single {type(texts).__name__}. "
            f"Wrap it in a list: `[{name[:-1] if name.endswith('s') else name}]`."
        )


class Vocabulary:
    """Words ranked by frequency, with Keras's IMDB encoding conventions.

    Rank 1 is the most frequent word. A word of rank `r` is encoded as `r + index_from`; index 0 is
    padding, `start_char` starts every sequence, and `oov_char` replaces words outside the
    vocabulary or outside the `skip_top <= index < num_words` window, exactly as Keras's
    `imdb.load_data` does. In that window test Keras compares the shifted *index*, not the rank,
    and applies it to `start_char` too (with `skip_top=2`, `start_char=1` becomes `oov_char`).
    With `oov_char=None` those words are dropped instead.

    Args:
        words: the words in rank order (rank 1 first), unique. Build one from texts with
            `Vocabulary.build`.
        num_words: None (default, no limit) or a positive integer: indices `>= num_words` become
            `oov_char`.
        skip_top: indices `< skip_top` become `oov_char`, default 0.
        start_char: index put at the start of each sequence, default 1; None for none.
        oov_char: index of out-of-vocabulary words, default 2; None to drop them.
        index_from: offset added to ranks, default 3 (0 padding, 1 start, 2 OOV).

    Example:
        >>> vocab = Vocabulary.build(["the cat", "the dog"])
        >>> vocab.word_index
        {'the': 1, 'cat': 2, 'dog': 3}
        >>> vocab.encode(["the bird"])
        [[1, 4, 2]]
        >>> vocab.decode([1, 4, 2])
        '[START] the [OOV]'
    """

    def __init__(
        self,
        words: Iterable[str] = (),
        *,
        num_words: int | None = None,
        skip_top: int = 0,
        start_char: int | None = 1,
        oov_char: int | None = 2,
        index_from: int = 3,
    ) -> None:
        if isinstance(words, (str, bytes)):
            raise TypeError("Expected `words` to be a list of words in rank order, got a single string.")
        self._words: tuple[str, ...] = tuple(words)
        for w in self._words:
            if not isinstance(w, str) or not w:
                raise TypeError(f"Expected `words` to hold non-empty strings, got {w!r}.")
        self._rank: dict[str, int] = {w: r for r, w in enumerate(self._words, start=1)}
        if len(self._rank) != len(self._words):
            dup = next(w for w, c in Counter(self._words).items() if c > 1)
            raise ValueError(f"Received a duplicate word in `words`: {dup!r}. Each word must appear once.")
        self._num_words = _check_optional("num_words", num_words, 1)
        self._skip_top = _check_int("skip_top", skip_top, 0)
        self._start_char = _check_optional("start_char", start_char, 0)
        self._oov_char = _check_optional("oov_char", oov_char, 0)
        self._index_from = _check_int("index_from", index_from, 0)
        self._lookup: dict[str, int | None] | None = None
        self._native: Any = None  # textrnn.kernels.TokenTable of _table(), False: none here

    # ----------------------------------------------------------------- building
    @classmethod
    def build(
        cls,
        texts: Iterable[str | Sequence[str]],
        max_words: int | None = None,
        min_freq: int = 1,
        *,
        num_words: int | None = None,
        skip_top: int = 0,
        start_char: int | None = 1,
        oov_char: int | None = 2,
        index_from: int = 3,
    ) -> Vocabulary:
        """Counts words and ranks them by frequency.

        Ties are broken by the words themselves in Python string order (Unicode code points), so
        the ranks do not depend on the order of the texts.

        Args:
            texts: raw texts (tokenised with `tokenize`) or lists of tokens, or a mix.
            max_words: None (default) or a positive integer: keep only the `max_words` most
                frequent words.
            min_freq: keep only words seen at least this many times, default 1.
            num_words, skip_top, start_char, oov_char, index_from: the encoding conventions,
                see `Vocabulary`.

        Returns:
            A `Vocabulary`.

        Raises:
            TypeError: if `texts` is a single string or holds something other than texts or
                token lists.
            ValueError: for a bad `max_words` or `min_freq`.

        Example:
            >>> Vocabulary.build([["b", "a"], ["a", "c", "b"]], max_words=2).word_index
            {'a': 1, 'b': 2}
        """
        _check_texts("texts", texts)
        max_words = _check_optional("max_words", max_words, 1)
        min_freq = _check_int("min_freq", min_freq, 1)
        counts: Counter[str] = Counter()
        for i, item in enumerate(texts):
            if isinstance(item, str):
                counts.update(tokenize(item))
            elif isinstance(item, (list, tuple)):
                counts.update(item)
            else:
                raise TypeError(
                    f"Expected `texts` to hold strings or lists of tokens, got {type(item).__name__} at "
                    f"position {i}."
                )
        ranked = sorted((w for w, c in counts.items() if c >= min_freq), key=lambda w: (-counts[w], w))
        if max_words is not None:
            ranked = ranked[:max_words]
        return cls(
            ranked,
            num_words=num_words,
            skip_top=skip_top,
            start_char=start_char,
            oov_char=oov_char,
            index_from=index_from,
        )

    def replace(self, **conventions: Any) -> Vocabulary:
        """A copy with the same words and some conventions changed, e.g. `replace(num_words=10000)`.

        Raises:
            TypeError: for a name that is not one of the conventions.
        """
        config = self.get_config()
        unknown = set(conventions) - set(config)
        if unknown:
            raise TypeError(
                f"Unknown convention(s) {sorted(unknown)} for `Vocabulary.replace`, expected some of "
                f"{sorted(config)}."
            )
        config.update(conventions)
        return Vocabulary(self._words, **config)

    # ----------------------------------------------------------------- properties
    @property
    def num_words(self) -> int | None:
        return self._num_words

    @property
    def skip_top(self) -> int:
        return self._skip_top

    @property
    def start_char(self) -> int | None:
        return self._start_char

    @property
    def oov_char(self) -> int | None:
        return self._oov_char

    @property
    def index_from(self) -> int:
        return self._index_from

    @property
    def words(self) -> tuple[str, ...]:
        """The words in rank order (rank 1 first)."""
        return self._words

    @property
    def word_index(self) -> dict[str, int]:
        """Word → rank (1 = most frequent), as Keras's `imdb.get_word_index()` (a fresh dict)."""
        return dict(self._rank)

    @property
    def index_word(self) -> dict[int, str]:
        """Rank → word (a fresh dict)."""
        return dict(enumerate(self._words, start=1))

    @property
    def input_dim(self) -> int:
        """The `Embedding` input size this encoding needs: one more than the largest index it emits.

        `num_words` if set, else the largest rank + `index_from` + 1; never less than one more than
        `start_char` and `oov_char`.
        """
        top = self._num_words if self._num_words is not None else len(self._words) + self._index_from + 1
        reserved = [c + 1 for c in (self._start_char, self._oov_char) if c is not None]
        return max([top, *reserved])

    def get_config(self) -> dict[str, Any]:
        """The encoding conventions (not the words)."""
        return {
            "num_words": self._num_words,
            "skip_top": self._skip_top,
            "start_char": self._start_char,
            "oov_char": self._oov_char,
            "index_from": self._index_from,
        }

    def __len__(self) -> int:
        return len(self._words)

    def __contains__(self, word: object) -> bool:
        return word in self._rank

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Vocabulary):
            return NotImplemented
        return self._words == other._words and self.get_config() == other.get_config()

    def __hash__(self) -> int:
        return hash((self._words, tuple(self.get_config().items())))

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_native"] = None  # a native table does not pickle; it is rebuilt on first use
        return state

    def __repr__(self) -> str:
        conv = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"Vocabulary({len(self._words)} words, {conv})"

    # ----------------------------------------------------------------- encoding
    def _keep(self, index: int) -> int | None:
        """Keras's window rule for one index: itself, `oov_char`, or None (dropped)."""
        if self._skip_top <= index and (self._num_words is None or index < self._num_words):
            return index
        return self._oov_char

    def _table(self) -> dict[str, int | None]:
        if self._lookup is None:
            # Final index of every word, window rule applied once here rather than per token.
            self._lookup = {w: self._keep(r + self._index_from) for w, r in self._rank.items()}
        return self._lookup

    def encode(self, texts: Iterable[str]) -> list[list[int]]:
        """Encodes raw texts (tokenised with `tokenize`) as Keras's IMDB integer sequences.

        Args:
            texts: list of strings.

        Returns:
            One list of integers per text: `start_char` (if not None), then each word's index.

        Raises:
            TypeError: if `texts` is a single string.

        Example:
            >>> Vocabulary(["good", "film"]).encode(["Good film, good!"])
            [[1, 4, 5, 4]]
        """
        _check_texts("texts", texts)
        with _gc_paused():
            return self._encode(map(tokenize, texts))

    def encode_flat(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """`encode` as one array: the same integers, end to end, and where each text's begin.

        Much faster than `encode` for many texts where the native kernels are available
        (`textrnn.kernels.available()`): the texts are lower-cased, tag-stripped and filtered as
        one buffer and looked up in a native hash table, with no Python object per token.

        Args:
            texts: list of strings.

        Returns:
            `(ids, offsets)`: int32 `(total,)` and int64 `(len(texts) + 1,)`; text `i`'s integers
            are `ids[offsets[i] : offsets[i + 1]]`, equal to `encode(texts)[i]`.

        Raises:
            TypeError: if `texts` is a single string or holds a non-string.

        Example:
            >>> ids, offsets = Vocabulary(["good", "film"]).encode_flat(["Good film", "good!"])
            >>> ids.tolist(), offsets.tolist()
            ([1, 4, 5, 1, 4], [0, 3, 5])
        """
        _check_texts("texts", texts)
        texts = list(texts)
        native = self._native_table() if texts else None
        if native is not None:
            data = _text_buffer(texts)
            if data is not None:
                start = None if self._start_char is None else self._keep(self._start_char)
                oov = self._oov_char
                ids_t, offsets_t = native.encode(
                    data, len(texts), -1 if start is None else start, -1 if oov is None else oov
                )
                return ids_t.numpy(), offsets_t.numpy()
        seqs = self.encode(texts)
        offsets = np.zeros(len(seqs) + 1, dtype=np.int64)
        np.cumsum(np.fromiter(map(len, seqs), dtype=np.int64, count=len(seqs)), out=offsets[1:])
        ids = np.fromiter(chain.from_iterable(seqs), dtype=np.int32, count=int(offsets[-1]))
        return ids, offsets

    def _native_table(self) -> Any:
        """The words as a `textrnn.kernels.TokenTable` (built once), or None where the kernels
        are not available or an index does not fit int32."""
        if self._native is None:
            self._native = False
            from textrnn import kernels

            table = self._table()
            top = max(
                [i for i in (*table.values(), self._start_char, self._oov_char) if i is not None] or [0]
            )
            if top < 2**31 and kernels.available():
                words = [w.encode("utf-8", "surrogatepass") for w in table]
                self._native = kernels.TokenTable(words, [-1 if i is None else i for i in table.values()])
        return self._native or None

    def encode_tokens(self, token_lists: Iterable[Sequence[str]]) -> list[list[int]]:
        """Encodes lists of tokens; see `encode`.

        Raises:
            TypeError: if `token_lists` is a single string.
        """
        _check_texts("token_lists", token_lists)
        with _gc_paused():
            return self._encode(token_lists)

    def _encode(self, token_lists: Iterable[Sequence[str]]) -> list[list[int]]:
        get = self._table().get
        oov = self._oov_char
        start = None if self._start_char is None else self._keep(self._start_char)
        out: list[list[int]] = []
        if oov is not None:
            for tokens in token_lists:
                seq = list(map(get, tokens, repeat(oov)))
                if start is not None:
                    seq.insert(0, start)
                out.append(seq)  # type: ignore[arg-type]  # oov is an int: no None left
            return out
        for tokens in token_lists:
            kept = [i for t in tokens if (i := get(t)) is not None]
            if start is not None:
                kept.insert(0, start)
            out.append(kept)
        return out

    def decode(self, sequence: Iterable[int]) -> str:
        """Turns integers back into words separated by spaces.

        `start_char` shows as "[START]", `oov_char` as "[OOV]", an index that is neither nor a
        word as "[UNK]"; padding (0) is skipped.

        Args:
            sequence: list or 1D array of integers.

        Returns:
            The decoded string.

        Example:
            >>> Vocabulary(["good", "film"]).decode([0, 0, 1, 4, 2])
            '[START] good [OOV]'
        """
        if hasattr(sequence, "tolist"):
            sequence = sequence.tolist()
        n = len(self._words)
        out: list[str] = []
        for i in sequence:
            i = int(i)
            if i == self._start_char:
                out.append(START_TOKEN)
            elif i == self._oov_char:
                out.append(OOV_TOKEN)
            elif i == 0:
                continue
            elif 1 <= i - self._index_from <= n:
                out.append(self._words[i - self._index_from - 1])
            else:
                out.append(UNKNOWN_TOKEN)
        return " ".join(out)

    # ----------------------------------------------------------------- saving
    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict: format tag, tokenizer version, conventions and the words in rank order."""
        return {
            "format": _VOCAB_FORMAT,
            "format_version": _VOCAB_FORMAT_VERSION,
            "tokenizer": TOKENIZER_VERSION,
            **self.get_config(),
            "words": list(self._words),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Vocabulary:
        """Rebuilds a vocabulary from `to_dict()`'s output.

        Raises:
            ValueError: if the dict is not a textrnn vocabulary, comes from a newer format, or
                was made with another tokenizer.
        """
        if not isinstance(data, Mapping) or data.get("format") != _VOCAB_FORMAT:
            raise ValueError(
                f"Expected a textrnn vocabulary dict with 'format': '{_VOCAB_FORMAT}', got "
                f"{type(data).__name__} with format "
                f"{data.get('format') if isinstance(data, Mapping) else None!r}."
            )
        version = data.get("format_version")
        if not isinstance(version, int) or version > _VOCAB_FORMAT_VERSION:
            raise ValueError(
                f"Vocabulary format_version {version!r} is newer than this textrnn reads "
                f"({_VOCAB_FORMAT_VERSION}). Upgrade textrnn."
            )
        if data.get("tokenizer") != TOKENIZER_VERSION:
            raise ValueError(
                f"This vocabulary was made with tokenizer {data.get('tokenizer')!r}, this textrnn "
                f"tokenizes with {TOKENIZER_VERSION!r}: its integers would not match. Use the textrnn "
                "version that made it, or rebuild the vocabulary."
            )
        words = data.get("words")
        if not isinstance(words, list):
            raise ValueError(
                f"Expected 'words' to be a list in the vocabulary dict, got {type(words).__name__}."
            )
        conventions = {
            k: data[k] for k in ("num_words", "skip_top", "start_char", "oov_char", "index_from") if k in data
        }
        return cls(words, **conventions)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Writes the vocabulary as JSON, atomically (temporary file in the same folder, then rename)."""
        path = Path(path)
        text = json.dumps(self.to_dict(), ensure_ascii=False)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Vocabulary:
        """Reads a vocabulary written by `save`.

        Raises:
            FileNotFoundError: if `path` does not exist.
            ValueError: if the file is not a textrnn vocabulary (see `from_dict`).
        """
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as e:
            raise ValueError(f"{path} is not a textrnn vocabulary (invalid JSON: {e}).") from e
        return cls.from_dict(data)
