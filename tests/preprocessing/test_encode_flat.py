"""`Vocabulary.encode_flat` gives exactly `encode`'s integers (native lookup and its fallback),
and the UTF-8 tag pattern it uses matches where `BR_TAG` does."""

from __future__ import annotations

import random
import re
import sys

import numpy as np
import pytest

from textrnn.preprocessing import text as text_module
from textrnn.preprocessing.sequence import pad_flat, pad_sequences
from textrnn.preprocessing.text import BR_TAG, Vocabulary

VARIED = [
    "Great film!<br /><br />I'd see it AGAIN.",
    "",
    "   ",
    "ΣΑΣ ΟΔΟΣ. Ὀδυσσεύς ΣΊΣΥΦΟΣ",  # final sigma depends on context
    "Ünïcödé wörds, naïve café — “quotes” «guillemets» ‘apostrophes’",
    "tabs\tand\nnewlines\r\nand\x0bvertical\x0cfeeds\x1c\x1d\x1e\x1fseparators",
    "no\u00a0break\u2003em\u3000ideographic\u2028line\u2029para\u202fnarrow\u205fmath\u1680ogham\x85nel",
    "<BR>caps<Br/>mixed<br\t/>tab<br\u00a0/>nbsp<br\u3000>wide<br  / >not<b r>no<br//>no",
    "emoji 😀😀 and 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 math, CJK 日本語のテキスト",
    'punctuation!!!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~everywhere',
    "don't won't it's o'clock '' ' ",
    "lone surrogate \ud800 here \udfff",
    "İstanbul KELVIN K ß ẞ ǅ ﬁ",
    "the the the a of and unknownword anotherunknown",
    "x" * 300,
]


def _random_texts(rng: random.Random, n: int) -> list[str]:
    alphabet = list("abcdeABCDE '.,!<>/br\t\n") + ["Σ", "é", "\u00a0", "\u2003", "😀", "<br />", "<BR>"]
    return ["".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 40))) for _ in range(n)]


def _vocab(texts: list[str], **conventions) -> Vocabulary:
    return Vocabulary.build(texts, **conventions)


def _flat(seqs: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    offsets = np.concatenate([[0], np.cumsum([len(s) for s in seqs])]).astype(np.int64)
    return np.array([i for s in seqs for i in s], dtype=np.int32), offsets


CONVENTIONS = [
    {},
    {"num_words": 12},
    {"num_words": 12, "oov_char": None},
    {"start_char": None, "skip_top": 2},
    {"index_from": 0, "oov_char": 0, "start_char": 0},
]


@pytest.mark.parametrize("conventions", CONVENTIONS)
def test_encode_flat_equals_encode_on_varied_texts(conventions):
    rng = random.Random(0)
    texts = VARIED + _random_texts(rng, 300)
    vocab = _vocab(texts[::2], **conventions)
    ids, offsets = vocab.encode_flat(texts)
    assert ids.dtype == np.int32 and offsets.dtype == np.int64
    want_ids, want_offsets = _flat(vocab.encode(texts))
    np.testing.assert_array_equal(offsets, want_offsets)
    np.testing.assert_array_equal(ids, want_ids)


def test_encode_flat_uses_the_native_table_where_available():
    from textrnn import kernels

    vocab = _vocab(VARIED)
    vocab.encode_flat(VARIED)
    assert (vocab._native_table() is not None) == kernels.available()


def test_encode_flat_falls_back_for_a_nul_inside_a_text():
    texts = ["a\x00b c", "a b", "\x00"]
    vocab = _vocab(["a b c a\x00b"])
    ids, offsets = vocab.encode_flat(texts)
    want_ids, want_offsets = _flat(vocab.encode(texts))
    np.testing.assert_array_equal(ids, want_ids)
    np.testing.assert_array_equal(offsets, want_offsets)


def test_encode_flat_of_no_texts_and_bad_input():
    vocab = _vocab(["a b"])
    ids, offsets = vocab.encode_flat([])
    assert ids.shape == (0,) and offsets.tolist() == [0]
    with pytest.raises(TypeError, match="single str"):
        vocab.encode_flat("a b")
    with pytest.raises(TypeError, match="string"):
        vocab.encode_flat(["a", 3])


def test_vocabulary_with_a_native_table_still_pickles():
    import pickle

    vocab = _vocab(VARIED)
    vocab.encode_flat(VARIED)
    again = pickle.loads(pickle.dumps(vocab))
    assert again == vocab
    np.testing.assert_array_equal(again.encode_flat(VARIED)[0], vocab.encode_flat(VARIED)[0])


def test_utf8_tag_pattern_matches_where_the_str_pattern_does():
    spaces = "".join(chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace())
    # The str pattern's \s is exactly str.isspace(); the bytes pattern spells out all of them.
    every = "".join(chr(c) for c in range(sys.maxunicode + 1) if not 0xD800 <= c < 0xE000)
    assert "".join(re.findall(r"\s", every)) == spaces
    assert [c for c in every if re.fullmatch("(?i)[br]", c)] == list("BRbr")
    samples = [f"x<br{s}/>y<br{s}{s}>z<br{s}x>" for s in spaces] + VARIED
    for sample in samples:
        low = sample.lower()
        want = BR_TAG.sub(" ", low).encode("utf-8", "surrogatepass")
        got = text_module._BR_TAG_UTF8.sub(b" ", low.encode("utf-8", "surrogatepass"))
        assert got == want, sample


@pytest.mark.parametrize("padding", ["pre", "post"])
@pytest.mark.parametrize("truncating", ["pre", "post"])
def test_pad_flat_equals_pad_sequences(padding, truncating):
    rng = random.Random(1)
    seqs = [[rng.randrange(1, 50) for _ in range(rng.randrange(0, 12))] for _ in range(40)]
    ids, offsets = _flat(seqs)
    for maxlen in (1, 5, 20):
        np.testing.assert_array_equal(
            pad_flat(ids, offsets, maxlen, padding, truncating),
            pad_sequences(seqs, maxlen=maxlen, padding=padding, truncating=truncating),
        )


def test_pad_flat_checks_its_arguments():
    with pytest.raises(ValueError, match="offsets"):
        pad_flat(np.array([1, 2]), np.array([0, 3]), 4)
    with pytest.raises(ValueError, match="padding"):
        pad_flat(np.array([1]), np.array([0, 1]), 4, padding="middle")
    assert pad_flat(np.array([], dtype=np.int32), np.array([0]), 3).shape == (0, 3)
