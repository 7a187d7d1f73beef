"""Preprocessing with Keras's names: `sequence.pad_sequences`, tokenisation and vocabularies."""

from textrnn.preprocessing import sequence, text
from textrnn.preprocessing.sequence import pad_sequences
from textrnn.preprocessing.text import Vocabulary, text_to_word_sequence, tokenize

__all__ = ["Vocabulary", "pad_sequences", "sequence", "text", "text_to_word_sequence", "tokenize"]
