import json
import random

import numpy as np
import pytest

from textrnn.preprocessing.text import (
    DEFAULT_FILTERS,
    TOKENIZER_VERSION,
    Vocabulary,
    text_to_word_sequence,
    tokenize,
)


def keras_reference(text, filters=DEFAULT_FILTERS, lower=True, split=" "):
    """Keras's algorithm written out plainly: replace each filter by `split`, split, drop empties."""
    if lower:
        text = text.lower()
    for c in filters:
        text = text.replace(c, split)
    return [w for w in text.split(split) if w]


# ----------------------------------------------------------------------------- text_to_word_sequence
def test_text_to_word_sequence_examples():
    assert text_to_word_sequence("Hello, World! It's 9:30.") == ["hello", "world", "it's", "9", "30"]
    assert text_to_word_sequence("A-B c", lower=False) == ["A", "B", "c"]
    assert text_to_word_sequence("a,b;c", filters=",", split=";") == ["a", "b", "c"]
    assert text_to_word_sequence("tab\there\nnew") == ["tab", "here", "new"]
    assert text_to_word_sequence("") == []
    assert text_to_word_sequence("  ...  ") == []


def test_text_to_word_sequence_keeps_other_whitespace_inside_words():
    # Keras splits on " " only: \r, form feed, NBSP and other spaces stay in the words.
    assert text_to_word_sequence("a\rb c\xa0d e\u2003f g\x0bh") == ["a\rb", "c\xa0d", "e\u2003f", "g\x0bh"]
    assert text_to_word_sequence("x\ty", filters="") == ["x\ty"]


def test_text_to_word_sequence_matches_reference_on_random_text():
    rng = random.Random(0)
    alphabet = "abcXYZ '\t\n\r\x0b\x0c\x1c\xa0\u2003éÉ日本.,!<>/-_\\\"" + DEFAULT_FILTERS
    for _ in range(500):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
        assert text_to_word_sequence(text) == keras_reference(text), repr(text)
        assert text_to_word_sequence(text, lower=False) == keras_reference(text, lower=False), repr(text)
        assert text_to_word_sequence(text, filters=".é", split=".") == keras_reference(
            text, ".é", split="."
        ), repr(text)
        assert text_to_word_sequence(text, filters="é,") == keras_reference(text, "é,"), repr(text)


def test_text_to_word_sequence_errors():
    with pytest.raises(TypeError, match="`input_text`.*bytes"):
        text_to_word_sequence(b"abc")
    with pytest.raises(ValueError, match="`split`.*non-empty"):
        text_to_word_sequence("abc", split="")


# ----------------------------------------------------------------------------- tokenize
def test_tokenize_examples():
    assert tokenize("Great film!<br /><br />I'd see it AGAIN.") == [
        "great",
        "film",
        "i'd",
        "see",
        "it",
        "again",
    ]
    assert tokenize("one<br/>two<br>three<BR />four<Br   />five") == ["one", "two", "three", "four", "five"]
    assert tokenize("no<br />space") == ["no", "space"]
    # Only line-break tags go; other tags are split on their punctuation like any text.
    assert tokenize("<i>bold</i> 10/10") == ["i", "bold", "i", "10", "10"]
    assert tokenize("Café CRÈME, naïve") == ["café", "crème", "naïve"]
    assert tokenize("") == []


def test_tokenize_is_br_removal_then_keras_split():
    rng = random.Random(1)
    pieces = ["<br />", "<br/>", "<BR>", "Word", "x", " ", "!", "<b>", "é", "\r", "don't", "--", "\n"]
    for _ in range(300):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 20)))
        expected = keras_reference(text.replace("<br />", " ").replace("<br/>", " ").replace("<BR>", " "))
        assert tokenize(text) == expected, repr(text)


def test_tokenize_type_error():
    with pytest.raises(TypeError, match="`text`.*int"):
        tokenize(3)


# ----------------------------------------------------------------------------- Vocabulary
def test_build_ranks_by_frequency_then_word():
    vocab = Vocabulary.build(["b a c", "a b d", "a e"])
    # a: 3, b: 2, then c, d, e once each, alphabetical.
    assert vocab.word_index == {"a": 1, "b": 2, "c": 3, "d": 4, "e": 5}
    assert vocab.index_word == {1: "a", 2: "b", 3: "c", 4: "d", 5: "e"}
    assert vocab.words == ("a", "b", "c", "d", "e")
    # The order of the texts does not change ties.
    assert Vocabulary.build(["a e", "a b d", "b a c"]).words == vocab.words


def test_build_from_token_lists_max_words_min_freq():
    texts = [["x", "y", "y"], ["z", "y", "x"], ["w"]]
    assert Vocabulary.build(texts).word_index == {"y": 1, "x": 2, "w": 3, "z": 4}
    assert Vocabulary.build(texts, max_words=2).words == ("y", "x")
    assert Vocabulary.build(texts, min_freq=2).words == ("y", "x")
    assert Vocabulary.build(texts, min_freq=3).words == ("y",)
    assert Vocabulary.build([]).words == ()


def test_encode_default_conventions():
    vocab = Vocabulary(["the", "film", "good"])
    # start 1, rank + 3, unknown word -> oov 2
    assert vocab.encode(["The film, the GOOD film!", "bad film"]) == [[1, 4, 5, 4, 6, 5], [1, 2, 5]]
    assert vocab.encode([""]) == [[1]]
    assert vocab.encode_tokens([["film", "nope"]]) == [[1, 5, 2]]
    assert vocab.input_dim == 3 + 3 + 1


def test_encode_num_words_skip_top_and_oov_none():
    words = ["a", "b", "c", "d", "e"]  # indices 4..8 with index_from=3
    text = ["a b c d e z"]
    assert Vocabulary(words).encode(text) == [[1, 4, 5, 6, 7, 8, 2]]
    assert Vocabulary(words, num_words=7).encode(text) == [[1, 4, 5, 6, 2, 2, 2]]
    assert Vocabulary(words, skip_top=5).encode(text) == [[2, 2, 5, 6, 7, 8, 2]]  # start char 1 < 5 too
    assert Vocabulary(words, num_words=7, skip_top=5, oov_char=None).encode(text) == [[5, 6]]
    assert Vocabulary(words, oov_char=None).encode(text) == [[1, 4, 5, 6, 7, 8]]
    assert Vocabulary(words, start_char=None, index_from=0, oov_char=9).encode(text) == [[1, 2, 3, 4, 5, 9]]
    assert Vocabulary(words, start_char=None, index_from=1).encode(text) == [[2, 3, 4, 5, 6, 2]]
    assert Vocabulary(words, num_words=7).input_dim == 7


def test_encode_matches_keras_rule_written_out():
    """Random conventions against Keras's load_data steps applied to ranks."""
    rng = random.Random(2)
    words = [f"w{i}" for i in range(30)]
    vocab_all = Vocabulary(words)
    for _ in range(200):
        conv = {
            "num_words": rng.choice([None, 1, 5, 10, 20, 40]),
            "skip_top": rng.choice([0, 1, 2, 5, 8]),
            "start_char": rng.choice([None, 1, 3]),
            "oov_char": rng.choice([None, 2, 0, 50]),
            "index_from": rng.choice([0, 1, 3, 6]),
        }
        tokens = [rng.choice([*words, "unknown"]) for _ in range(rng.randint(0, 15))]
        rank = vocab_all.word_index
        oov, start = conv["oov_char"], conv["start_char"]
        seq = [] if start is None else [start]
        for t in tokens:
            if t in rank:
                seq.append(rank[t] + conv["index_from"])
            elif oov is not None:
                seq.append(oov)
        top = conv["num_words"]
        keep = [(conv["skip_top"] <= w and (top is None or w < top)) for w in seq]
        if oov is None:
            want = [w for w, k in zip(seq, keep, strict=True) if k]
        else:
            want = [w if k else oov for w, k in zip(seq, keep, strict=True)]
        assert Vocabulary(words, **conv).encode_tokens([tokens]) == [want], (conv, tokens)


def test_decode():
    vocab = Vocabulary(["good", "film"])
    assert vocab.decode([0, 0, 1, 4, 2, 5]) == "[START] good [OOV] film"
    assert vocab.decode(np.array([1, 4, 99])) == "[START] good [UNK]"
    seqs = vocab.encode(["Good film, bad!"])
    assert vocab.decode(seqs[0]) == "[START] good film [OOV]"


def test_replace_and_conventions_are_read_only():
    vocab = Vocabulary(["a", "b"])
    other = vocab.replace(num_words=4, oov_char=None)
    assert other.num_words == 4 and other.oov_char is None and other.words == vocab.words
    assert vocab.num_words is None
    with pytest.raises(AttributeError):
        vocab.num_words = 3  # type: ignore[misc]
    with pytest.raises(TypeError, match="num_wordz"):
        vocab.replace(num_wordz=3)


def test_save_load_round_trip(tmp_path):
    vocab = Vocabulary.build(["Zoë's café, the café!", "the end"], num_words=6, skip_top=1, oov_char=None)
    path = tmp_path / "vocab.json"
    vocab.save(path)
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["tokenizer"] == TOKENIZER_VERSION and data["words"][0] in ("café", "the")
    loaded = Vocabulary.load(path)
    assert loaded == vocab
    assert loaded.get_config() == vocab.get_config()
    texts = ["the café of Zoë's end", "unknown"]
    assert loaded.encode(texts) == vocab.encode(texts)
    assert Vocabulary.from_dict(json.loads(json.dumps(vocab.to_dict()))) == vocab
    assert [p.name for p in tmp_path.iterdir()] == ["vocab.json"]  # no temporary file left


def test_load_rejects_foreign_files(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match="not a textrnn vocabulary"):
        Vocabulary.load(bad)
    with pytest.raises(ValueError, match="format"):
        Vocabulary.from_dict({"words": ["a"]})
    data = Vocabulary(["a"]).to_dict()
    with pytest.raises(ValueError, match="tokenizer"):
        Vocabulary.from_dict({**data, "tokenizer": "other-9"})
    with pytest.raises(ValueError, match="newer"):
        Vocabulary.from_dict({**data, "format_version": 99})


def test_constructor_validates():
    with pytest.raises(ValueError, match="duplicate word.*'a'"):
        Vocabulary(["a", "b", "a"])
    with pytest.raises(TypeError, match="non-empty strings"):
        Vocabulary(["a", ""])
    with pytest.raises(TypeError, match="single string"):
        Vocabulary("abc")
    with pytest.raises(ValueError, match="`num_words`.*None or a positive integer.*0"):
        Vocabulary(["a"], num_words=0)
    with pytest.raises(ValueError, match="`skip_top`.*non-negative.*-1"):
        Vocabulary(["a"], skip_top=-1)
    with pytest.raises(ValueError, match="`index_from`"):
        Vocabulary(["a"], index_from=None)
    with pytest.raises(ValueError, match="`max_words`"):
        Vocabulary.build(["a"], max_words=0)
    with pytest.raises(ValueError, match="`min_freq`"):
        Vocabulary.build(["a"], min_freq=0)
    with pytest.raises(TypeError, match="position 1"):
        Vocabulary.build(["a", 3])
    with pytest.raises(TypeError, match="single str"):
        Vocabulary(["a"]).encode("a text")
