"""Preprocessing with Keras's names: `sequence.pad_sequences`, tokenisation and vocabularies.

Keras 2's `keras.preprocessing.text.Tokenizer` is `legacy_text.Tokenizer`; it is also reachable
as `textrnn.preprocessing.text.Tokenizer`, where Keras code imports it from (set below, so that
`text` need not import `legacy_text`, which is built on it).
"""

from textrnn.preprocessing import legacy_text, sequence, text
from textrnn.preprocessing.legacy_text import Tokenizer, tokenizer_from_json
from textrnn.preprocessing.sequence import pad_sequences
from textrnn.preprocessing.text import Vocabulary, text_to_word_sequence, tokenize

text.Tokenizer = Tokenizer  # type: ignore[attr-defined]
text.tokenizer_from_json = tokenizer_from_json  # type: ignore[attr-defined]

__all__ = [
    "Tokenizer",
    "Vocabulary",
    "legacy_text",
    "pad_sequences",
    "sequence",
    "text",
    "text_to_word_sequence",
    "tokenize",
    "tokenizer_from_json",
]
