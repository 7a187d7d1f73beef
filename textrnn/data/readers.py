"""Readers for the user's own labelled texts: CSV, TSV, JSON Lines, Parquet and class folders.

Every reader returns `(texts, labels)`: two lists of strings, labels normalised by
`textrnn.data.labels.normalize_label` (so `1`, `1.0` and `"1"` are one class). Problems are
reported as `DatasetError` naming the file, the line (or file) at fault and the fix.

Undecodable bytes are refused, not replaced: the error names the line (or file) and suggests
`encoding=` (`--encoding` on the command line), so a wrongly decoded corpus never trains a model
silently.

Folder trees follow aclImdb's layout: `ROOT/train/<label>/*.txt` with an optional
`ROOT/test/<label>/*.txt`, or class folders directly under `ROOT`. Folders named `unsup`
(aclImdb's unlabelled reviews) and hidden folders are skipped.
"""

from __future__ import annotations

import csv
import io
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from textrnn import checks
from textrnn.data.labels import normalize_label
from textrnn.errors import DatasetError

FORMATS = ("csv", "tsv", "jsonl", "parquet", "folder")
_EXTENSIONS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
}
_SKIPPED_FOLDERS = {"unsup"}

Texts = list[str]
Labels = list[str]


@dataclass(frozen=True)
class DataSource:
    """Where a dataset lives and how to read it; stored in a run's `config.json`.

    Args:
        path: a file, or a folder of class folders.
        format: one of `"csv"`, `"tsv"`, `"jsonl"`, `"parquet"`, `"folder"`; None detects it
            from the extension (a folder is `"folder"`).
        text_column: column (or JSON key) holding the text; default `"text"`.
        label_column: column (or JSON key) holding the label; default `"label"`.
        encoding: text encoding of CSV, TSV, JSON Lines and `.txt` files; default `"utf-8"`.
    """

    path: str
    format: str | None = None
    text_column: str = "text"
    label_column: str = "label"
    encoding: str = "utf-8"

    def __post_init__(self) -> None:
        if self.format is not None and self.format not in FORMATS:
            raise checks.invalid("format", "one of " + ", ".join(FORMATS), self.format)
        for name in ("text_column", "label_column"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value:
                raise checks.invalid(name, "a column name", value)
        try:
            "".encode(self.encoding)
        except LookupError:
            expected = "a Python codec name such as 'utf-8' or 'latin-1'"
            raise checks.invalid("encoding", expected, self.encoding) from None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, config: dict[str, Any]) -> DataSource:
        return cls(**config)

    def resolved_format(self) -> str:
        return self.format or detect_format(self.path)

    def read(self, subset: str = "train") -> tuple[Texts, Labels]:
        """`(texts, labels)` of `subset` (`"train"`, or `"test"` for a folder tree with `test/`)."""
        return read_texts(
            self.path,
            format=self.format,
            text_column=self.text_column,
            label_column=self.label_column,
            encoding=self.encoding,
            subset=subset,
        )

    def has_test_subset(self) -> bool:
        """Whether the source has its own test split (a folder tree with a `test/` folder)."""
        return self.resolved_format() == "folder" and (Path(self.path) / "test").is_dir()


def detect_format(path: str | os.PathLike[str]) -> str:
    """The reader for `path`: `"folder"` for a directory, else from the file extension.

    Raises:
        DatasetError: if the path does not exist or its extension is not one textrnn reads.
    """
    p = Path(path)
    if not p.exists():
        raise DatasetError(
            f"Data path `{p}` does not exist. Check the path (relative paths start at the current folder)."
        )
    if p.is_dir():
        return "folder"
    fmt = _EXTENSIONS.get(p.suffix.lower())
    if fmt is None:
        raise DatasetError(
            f"Cannot tell the format of `{p}` from its extension {p.suffix!r}: expected .csv, .tsv, .jsonl, "
            ".parquet or a folder of class folders. Rename the file or pass the format (`--format csv`)."
        )
    return fmt


def read_texts(
    path: str | os.PathLike[str],
    *,
    format: str | None = None,
    text_column: str = "text",
    label_column: str = "label",
    encoding: str = "utf-8",
    subset: str = "train",
) -> tuple[Texts, Labels]:
    """Read labelled texts from a CSV, TSV, JSON Lines or Parquet file or a folder tree.

    Args:
        path: the file or folder.
        format: `"csv"`, `"tsv"`, `"jsonl"`, `"parquet"` or `"folder"`; None detects it.
        text_column: the column or key holding texts; default `"text"`.
        label_column: the column or key holding labels; default `"label"`.
        encoding: the files' text encoding; default `"utf-8"` (a byte-order mark is skipped).
        subset: for folder trees, `"train"` or `"test"`; files have a single subset.

    Returns:
        `(texts, labels)`, lists of strings of equal length, in file order (folder trees: class
        folders in sorted order, files sorted by name).

    Raises:
        DatasetError: the path is missing, the file does not parse, a column is missing, a row
            has no label, bytes do not decode, or there are no examples.

    Example:
        >>> texts, labels = read_texts("reviews.csv", text_column="review", label_column="stars")
        >>> len(texts) == len(labels)
        True
    """
    source = DataSource(str(path), format, text_column, label_column, encoding)
    fmt = source.resolved_format()
    if fmt != "folder" and not Path(path).is_file():
        raise DatasetError(
            f"Data path `{path}` is not a file, but format {fmt!r} reads a file. Pass the file itself."
        )
    if subset not in ("train", "test"):
        raise checks.invalid("subset", "'train' or 'test'", subset)
    if fmt != "folder" and subset != "train":
        raise DatasetError(
            f"`{path}` is a single {fmt} file with no separate test subset. "
            "Pass test data as a file of its own."
        )
    if fmt in ("csv", "tsv"):
        texts, labels = _read_delimited(Path(path), "," if fmt == "csv" else "\t", source)
    elif fmt == "jsonl":
        texts, labels = _read_jsonl(Path(path), source)
    elif fmt == "parquet":
        texts, labels = _read_parquet(Path(path), source)
    else:
        texts, labels = _read_folder(Path(path), subset, encoding)
    if not texts:
        raise DatasetError(
            f"`{path}` holds no examples. Point to a file with at least one labelled text per class."
        )
    _check_columns_make_sense(path, texts, labels, source)
    return texts, labels


MIN_ROWS_FOR_ID_CHECK = 20  # below this, distinct labels on every row can be a real tiny dataset


def _check_columns_make_sense(path: Any, texts: Texts, labels: Labels, source: DataSource) -> None:
    """Refuse a text column that is mostly empty and a label column that looks like an id."""
    n = len(texts)
    empty = sum(1 for t in texts if not t.strip())
    if empty * 2 > n:
        raise DatasetError(
            f"`{path}`: the text column `{source.text_column}` is empty in {empty:,} of {n:,} "
            "rows. "
            "Name the column that holds the texts with `--text-column`."
        )
    distinct = len(set(labels))
    if n >= MIN_ROWS_FOR_ID_CHECK and distinct * 2 > n:
        kind = (
            "a different value in every row"
            if distinct == n
            else f"{distinct:,} distinct values in {n:,} rows"
        )
        raise DatasetError(
            f"`{path}`: the label column `{source.label_column}` has {kind}, like an id, "
            "not classes. "
            "Name the column that holds the classes with `--label-column`."
        )


def _decode(raw: bytes, path: Path, encoding: str) -> str:
    codec = "utf-8-sig" if encoding.lower().replace("_", "-") in ("utf-8", "utf8") else encoding
    try:
        return raw.decode(codec)
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise DatasetError(
            f"`{path}` line {line}: bytes {raw[e.start : e.end]!r} are not valid {encoding}. "
            "Re-save the file as UTF-8, or pass its encoding "
            "(`--encoding latin-1`, `--encoding cp1252`, ...)."
        ) from None


def _read_delimited(path: Path, delimiter: str, source: DataSource) -> tuple[Texts, Labels]:
    text = _decode(path.read_bytes(), path, source.encoding)
    csv.field_size_limit(2**31 - 1)  # reviews longer than csv's default 128 KiB cell limit
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    kind = "CSV" if delimiter == "," else "TSV"
    try:
        header = next(reader, None)
        if header is None:
            raise DatasetError(
                f"`{path}` is empty. Expected a header line naming the columns, then one row per text."
            )
        header = [h.strip() for h in header]
        t_col = _column_index(header, source.text_column, "text", path)
        l_col = _column_index(header, source.label_column, "label", path)
        texts: Texts = []
        labels: Labels = []
        for row in reader:
            if not row or (len(row) == 1 and not row[0].strip()):
                continue  # blank line
            if len(row) != len(header):
                raise DatasetError(
                    f"`{path}` line {reader.line_num}: {len(row)} fields, but the header has {len(header)}. "
                    f"Quote texts that contain {'commas' if delimiter == ',' else 'tabs'} or line breaks."
                )
            label = normalize_label(row[l_col])
            if label is None:
                raise DatasetError(
                    f"`{path}` line {reader.line_num}: no label in column `{source.label_column}`. "
                    "Fill in the label or remove the row."
                )
            texts.append(row[t_col])
            labels.append(label)
    except csv.Error as e:
        raise DatasetError(
            f"`{path}` line {reader.line_num}: not valid {kind} ({e}). Check the quoting around that line "
            "(a text with a quote character must be enclosed in quotes, its quotes doubled)."
        ) from None
    return texts, labels


def _column_index(header: list[str], column: str, what: str, path: Path) -> int:
    repeated = sorted({h for h in header if h and header.count(h) > 1})
    if repeated:
        raise DatasetError(
            f"`{path}`: the header names column `{repeated[0]}` {header.count(repeated[0])} times. "
            "Give every column a name of its own."
        )
    if column not in header:
        raise DatasetError(
            f"`{path}` has no column `{column}` (columns: {', '.join(header) or 'none'}). "
            f"Name the {what} column with `--{what}-column`."
        )
    return header.index(column)


def _read_jsonl(path: Path, source: DataSource) -> tuple[Texts, Labels]:
    text = _decode(path.read_bytes(), path, source.encoding)
    texts: Texts = []
    labels: Labels = []
    # Records end at "\n" only: JSON strings may hold U+2028, NEL or form feed, which `splitlines`
    # would take for line ends.
    for n, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as e:
            raise DatasetError(
                f"`{path}` line {n}: not valid JSON ({e.msg}). Write one JSON object per line."
            ) from None
        except RecursionError:
            raise DatasetError(
                f"`{path}` line {n}: JSON nested too deeply. Write one flat object per line."
            ) from None
        if not isinstance(record, dict):
            raise DatasetError(f"`{path}` line {n}: expected a JSON object, got {type(record).__name__}.")
        for key, what in ((source.text_column, "text"), (source.label_column, "label")):
            if key not in record:
                raise DatasetError(
                    f"`{path}` line {n}: no key `{key}` (keys: {', '.join(record) or 'none'}). "
                    f"Name the {what} key with `--{what}-column`."
                )
        value = record[source.text_column]
        if not isinstance(value, str):
            raise DatasetError(f"`{path}` line {n}: `{source.text_column}` must be a string, got {value!r}.")
        label = normalize_label(record[source.label_column])
        if label is None:
            raise DatasetError(
                f"`{path}` line {n}: no label in `{source.label_column}`. "
                "Fill in the label or remove the line."
            )
        texts.append(value)
        labels.append(label)
    return texts, labels


def _read_parquet(path: Path, source: DataSource) -> tuple[Texts, Labels]:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise DatasetError(
            "Reading Parquet files needs pyarrow, which is not installed. Install the `data` extra: "
            "pip install 'textrnn[data]'."
        ) from None
    try:
        schema = pq.read_schema(path)
        for column, what in ((source.text_column, "text"), (source.label_column, "label")):
            if column not in schema.names:
                raise DatasetError(
                    f"`{path}` has no column `{column}` (columns: {', '.join(schema.names)}). "
                    f"Name the {what} column with `--{what}-column`."
                )
        table = pq.read_table(path, columns=[source.text_column, source.label_column])
    except DatasetError:
        raise
    except Exception as e:  # pyarrow raises ArrowInvalid, OSError, ... for unreadable files
        raise DatasetError(f"`{path}` is not a readable Parquet file ({e}).") from None
    texts: Texts = []
    labels: Labels = []
    raw_texts = table.column(source.text_column).to_pylist()
    raw_labels = table.column(source.label_column).to_pylist()
    for n, (value, raw_label) in enumerate(zip(raw_texts, raw_labels, strict=True)):
        if not isinstance(value, str):
            raise DatasetError(f"`{path}` row {n}: `{source.text_column}` must be a string, got {value!r}.")
        label = normalize_label(raw_label)
        if label is None:
            raise DatasetError(
                f"`{path}` row {n}: no label in `{source.label_column}`. Fill in the label or drop the row."
            )
        texts.append(value)
        labels.append(label)
    return texts, labels


def _read_folder(root: Path, subset: str, encoding: str) -> tuple[Texts, Labels]:
    base = root / subset if (root / subset).is_dir() else None
    if base is None:
        if subset == "test":
            raise DatasetError(
                f"`{root}` has no `test/` folder. Add one with a folder per class, "
                "or pass test data separately."
            )
        base = root
    skipped = _SKIPPED_FOLDERS | ({"test"} if base == root else set())
    class_dirs = sorted(
        d for d in base.iterdir() if d.is_dir() and not d.name.startswith(".") and d.name not in skipped
    )
    texts: Texts = []
    labels: Labels = []
    for d in class_dirs:
        files = sorted(f for f in d.iterdir() if f.suffix == ".txt" and f.is_file())
        label = normalize_label(d.name)
        if label is None:
            continue
        for f in files:
            texts.append(_decode(f.read_bytes(), f, encoding))
            labels.append(label)
    if not texts:
        raise DatasetError(
            f"`{base}` holds no class folders with .txt files. Expected `{base}/<label>/*.txt`, "
            "one folder per class (as aclImdb's `train/neg`, `train/pos`)."
        )
    return texts, labels
