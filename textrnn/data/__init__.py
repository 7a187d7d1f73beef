"""The user's own labelled texts.

Readers (CSV, TSV, JSON Lines, Parquet, class folders) → `(texts, labels)`.
"""

from textrnn.data.labels import encode_labels, label_names_of, normalize_label
from textrnn.data.readers import FORMATS, DataSource, detect_format, read_texts
from textrnn.data.split import stratified_split

__all__ = [
    "FORMATS",
    "DataSource",
    "detect_format",
    "encode_labels",
    "label_names_of",
    "normalize_label",
    "read_texts",
    "stratified_split",
]
