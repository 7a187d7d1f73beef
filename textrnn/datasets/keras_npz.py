"""Reads Keras's dataset `.npz` files (`imdb.npz`) without unpickling anything.

Keras stores each review as a Python list of ints, so `x_train` and `x_test` are numpy object
arrays, which numpy can only save as a pickle stream. Unpickling runs whatever the stream asks
for, so this module never unpickles: it walks the stream's opcodes with a small stack machine that
knows only what numpy writes for a 1-D object array of int lists. The opcodes of the lists are
decoded here, byte by byte: a list's ints come as a run of `BININT1` / `BININT2` / `BININT`
opcodes, matched by a regular expression from an opcode's position (each opcode byte followed by
exactly its 1, 2 or 4 argument bytes) and converted by one `struct.unpack_from` per run; `MARK`,
`EMPTY_LIST`, `APPENDS`, `APPEND`, `MEMOIZE`, `BINPUT`, `LONG_BINPUT` and `FRAME` are read
directly; every other byte goes through `pickletools.genops`, one opcode at a time. Accepted:

- `PROTO`, `FRAME`, `STOP`, `MARK`, the memo opcodes (`MEMOIZE`, `BINPUT`, `LONG_BINPUT`, `PUT`,
  `BINGET`, `LONG_BINGET`, `GET`);
- `GLOBAL` / `STACK_GLOBAL` naming only `numpy.ndarray`, `numpy.dtype` and
  `numpy.core.multiarray._reconstruct` (numpy 1) or `numpy._core.multiarray._reconstruct`
  (numpy 2). They become inert markers: nothing is imported or called;
- `REDUCE` and `BUILD` on those markers, with exactly the arguments numpy writes;
- ints (`BININT`, `BININT1`, `BININT2`, `LONG1`, within int64), `NONE`, `NEWTRUE`, `NEWFALSE`,
  strings and bytes (`SHORT_BINUNICODE`, `BINUNICODE`, `SHORT_BINSTRING`, `BINSTRING` as Python 2
  wrote them, `SHORT_BINBYTES`, `BINBYTES`), tuples (`EMPTY_TUPLE`, `TUPLE`, `TUPLE1..3`) and lists
  (`EMPTY_LIST`, `LIST`, `APPEND`, `APPENDS`).

Any other opcode or global, or those with other arguments, is refused with a `DatasetError` naming
the file, the array and what was found. Arrays stored without pickle (the int64 labels) are read
with `numpy.lib.format.read_array(allow_pickle=False)`.
"""

from __future__ import annotations

import io
import os
import pickletools
import re
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from textrnn.datasets import download
from textrnn.errors import DatasetError

MAX_MEMBER_BYTES = 2 << 30
"""Largest uncompressed array read from an archive (Keras's imdb.npz holds well under that)."""

_MARKERS = {
    ("numpy.core.multiarray", "_reconstruct"): "_reconstruct",
    ("numpy._core.multiarray", "_reconstruct"): "_reconstruct",
    ("numpy", "ndarray"): "ndarray",
    ("numpy", "dtype"): "dtype",
}
_INT64 = (-(1 << 63), (1 << 63) - 1)
_PUSH_INT = frozenset({"BININT", "BININT1", "BININT2", "LONG1"})
_PUSH_STR = frozenset({"SHORT_BINUNICODE", "BINUNICODE", "SHORT_BINSTRING", "BINSTRING"})
_PUSH_BYTES = frozenset({"SHORT_BINBYTES", "BINBYTES"})
_PUT = frozenset({"BINPUT", "LONG_BINPUT", "PUT"})
_GET = frozenset({"BINGET", "LONG_BINGET", "GET"})
_CONST = {"NONE": None, "NEWTRUE": True, "NEWFALSE": False}


@dataclass(eq=False)
class _Marker:
    name: str  # "_reconstruct", "ndarray" or "dtype": never the real object


@dataclass(eq=False)
class _Dtype:
    code: str
    built: bool = False


@dataclass(eq=False)
class _Array:
    shape: tuple[int, ...] | None = None
    dtype: _Dtype | None = None
    data: Any = None
    built: bool = False


class _Refused(Exception):
    """What the stream holds that the reader does not accept (made a DatasetError by the caller)."""


def _describe(v: Any) -> str:
    """A short, safe description of a value from the stream (no repr of nested or long data)."""
    if v is None or type(v) in (bool, int) or (isinstance(v, (str, bytes)) and len(v) <= 40):
        return repr(v)
    if isinstance(v, tuple) and len(v) <= 10 and not any(isinstance(x, (list, tuple)) for x in v):
        return "(" + ", ".join(map(_describe, v)) + ("," if len(v) == 1 else "") + ")"
    if isinstance(v, _Marker):
        return f"numpy.{v.name}"
    return f"a {type(v).__name__.lstrip('_')}" + (
        f" of {len(v)} items" if isinstance(v, (list, tuple)) else ""
    )


def _check_int(value: int) -> int:
    if not _INT64[0] <= value <= _INT64[1]:
        raise _Refused(f"an integer outside int64 ({value.bit_length()} bits)")
    return value


def _is_int(v: Any) -> bool:
    return type(v) is int


def _as_flag(v: Any) -> bool:
    if type(v) is bool or (_is_int(v) and v in (0, 1)):
        return bool(v)
    raise _Refused(f"a flag {_describe(v)} where numpy writes True or False")


def _reduce(func: Any, args: Any) -> Any:
    if not isinstance(func, _Marker):
        raise _Refused(f"REDUCE on {type(func).__name__}, not on one of numpy's array globals")
    if not isinstance(args, tuple):
        raise _Refused(f"REDUCE with arguments of type {type(args).__name__}")
    if func.name == "_reconstruct":
        # numpy writes _reconstruct(ndarray, (0,), b"b").
        if (
            len(args) == 3
            and isinstance(args[0], _Marker)
            and args[0].name == "ndarray"
            and isinstance(args[1], tuple)
            and all(_is_int(n) for n in args[1])
            and args[2] in (b"b", "b")
        ):
            return _Array()
        raise _Refused(f"numpy's _reconstruct with arguments ({', '.join(map(_describe, args))})")
    if func.name == "dtype":
        # numpy writes dtype("O8", False, True).
        if len(args) == 3 and isinstance(args[0], str):
            _as_flag(args[1])
            _as_flag(args[2])
            return _Dtype(args[0])
        raise _Refused(f"numpy.dtype with arguments ({', '.join(map(_describe, args))})")
    raise _Refused(f"REDUCE calling numpy.{func.name}")


def _build(obj: Any, state: Any) -> None:
    if isinstance(obj, _Dtype) and not obj.built:
        # (version, byte order, subarray, names, fields, elsize, alignment, flags).
        if not (isinstance(state, tuple) and len(state) in (8, 9) and state[0] in (3, 4)):
            raise _Refused(f"a dtype state {_describe(state)}")
        obj.built = True
        return
    if isinstance(obj, _Array) and not obj.built:
        # (version, shape, dtype, is_fortran, data).
        if not (isinstance(state, tuple) and len(state) == 5 and state[0] == 1):
            raise _Refused(f"an array state {_describe(state)}")
        _, shape, dtype, fortran, data = state
        if not (isinstance(shape, tuple) and all(_is_int(n) for n in shape)):
            raise _Refused(f"an array shape {_describe(shape)}")
        if not (isinstance(dtype, _Dtype) and dtype.built):
            raise _Refused("an array whose dtype is not numpy's")
        _as_flag(fortran)
        obj.shape, obj.dtype, obj.data, obj.built = shape, dtype, data, True
        return
    raise _Refused(f"BUILD on {type(obj).__name__}")


# The ints of one list come as a run of BININT1 / BININT2 / BININT opcodes (K, M, J and their 1, 2
# or 4 argument bytes): matched from an opcode's position, a run is decoded by `struct` in one call.
_INT_RUN = re.compile(rb"(?:K.|M..|J....)+", re.DOTALL)
_INT_OPCODE = re.compile(rb"([KMJ])(?:(?<=K).|(?<=M)..|(?<=J)....)", re.DOTALL)  # the opcode of each
_STRUCT_CODES = bytes.maketrans(b"KMJ", b"BHi")  # unsigned 1 and 2 bytes, signed 4, as pickle's
_K, _M, _J = b"KMJ"
# The other opcodes numpy writes between and around the lists, decoded here too: (name, arg bytes).
_FAST = {
    ord("("): ("MARK", 0),
    ord("]"): ("EMPTY_LIST", 0),
    ord("e"): ("APPENDS", 0),
    ord("a"): ("APPEND", 0),
    0x94: ("MEMOIZE", 0),
    ord("q"): ("BINPUT", 1),
    ord("r"): ("LONG_BINPUT", 4),
    0x95: ("FRAME", 8),
}


def _int_run(buf: bytes, start: int, end: int) -> tuple[int, ...]:
    """The ints of the run of BININT1 / BININT2 / BININT opcodes `buf[start:end]` (`_INT_RUN`'s)."""
    opcodes = b"x".join(_INT_OPCODE.findall(buf, start, end))  # b"KxMxJ": x skips an opcode's byte
    return struct.unpack_from(b"<x" + opcodes.translate(_STRUCT_CODES), buf, start)


def _read_object_array(stream: io.BytesIO) -> list[list[int]]:
    """The lists of a pickled 1-D numpy object array of int lists, never unpickling.

    The opcodes numpy writes for the lists (runs of ints, MARK, EMPTY_LIST, APPENDS, the memo and
    frames) are decoded here; any other byte goes through `pickletools.genops`, one opcode at a time.

    Args:
        stream: positioned at the start of the pickle (after the `.npy` header).

    Returns:
        One Python list of ints per element.

    Raises:
        _Refused: for anything numpy does not write for such an array (the caller names the file).
    """
    buf = stream.getvalue()
    pos = stream.tell()
    size = len(buf)
    stack: list[Any] = []
    marks: list[tuple[list[Any], int]] = []
    memo: dict[int, Any] = {}
    result: Any = None
    arg: Any
    # Lists that may hold something else than ints (the rest are not scanned again at the end):
    # a MARK's items are all ints when nothing but int runs was pushed since it (`pushes` counts
    # the other pushes).
    mixed: set[int] = set()
    pushes = 0
    try:
        while True:
            if pos >= size:
                raise _Refused("a malformed stream (it ends before its STOP opcode)")
            code = buf[pos]
            if code == _K or code == _M or code == _J:
                run = _INT_RUN.match(buf, pos)
                if run is not None:
                    stack.extend(_int_run(buf, pos, run.end()))
                    pos = run.end()
                    continue
            fast = _FAST.get(code)
            if fast is not None and pos + 1 + fast[1] <= size:
                name, width = fast
                arg = int.from_bytes(buf[pos + 1 : pos + 1 + width], "little") if width else None
                pos += 1 + width
            else:
                stream.seek(pos)
                op, arg, _pos = next(pickletools.genops(stream))
                name = op.name
                pos = stream.tell()
            pushes += 1  # (an over-count where the opcode pushes nothing: only more is scanned)
            if name in _PUSH_INT:
                stack.append(_check_int(arg))
            elif name == "APPENDS":
                items = stack
                stack, pushes_at_mark = marks.pop()
                if not stack or not isinstance(stack[-1], list):
                    raise _Refused("APPENDS to something that is not a list")
                if pushes != pushes_at_mark + 1 and not all(map(_is_int, items)):
                    mixed.add(id(stack[-1]))
                stack[-1].extend(items)
            elif name == "MEMOIZE":
                memo[len(memo)] = stack[-1]
            elif name == "MARK":
                marks.append((stack, pushes))
                stack = []
            elif name == "EMPTY_LIST":
                stack.append([])
            elif name == "APPEND":
                item = stack.pop()
                if not isinstance(stack[-1], list):
                    raise _Refused("APPEND to something that is not a list")
                if not _is_int(item):
                    mixed.add(id(stack[-1]))
                stack[-1].append(item)
            elif name in _PUT:
                memo[arg] = stack[-1]
            elif name in _GET:
                if arg not in memo:
                    raise _Refused(f"{name} of memo entry {arg}, never stored")
                stack.append(memo[arg])
            elif name in _CONST:
                stack.append(_CONST[name])
            elif name in _PUSH_STR:
                stack.append(arg if isinstance(arg, str) else arg.decode("latin-1"))
            elif name in _PUSH_BYTES:
                stack.append(bytes(arg))
            elif name == "TUPLE":
                items = stack
                stack = marks.pop()[0]
                stack.append(tuple(items))
            elif name in ("TUPLE1", "TUPLE2", "TUPLE3"):
                n = int(name[-1])
                if len(stack) < n:
                    raise _Refused(f"{name} on a stack of {len(stack)}")
                items = stack[-n:]
                del stack[-n:]
                stack.append(tuple(items))
            elif name == "EMPTY_TUPLE":
                stack.append(())
            elif name == "LIST":
                items = stack
                stack = marks.pop()[0]
                stack.append(list(items))
                mixed.add(id(stack[-1]))
            elif name in ("GLOBAL", "STACK_GLOBAL"):
                if name == "GLOBAL":
                    module, _, attr = str(arg).partition(" ")
                else:
                    attr = stack.pop()
                    module = stack.pop()
                    if not (isinstance(module, str) and isinstance(attr, str)):
                        raise _Refused("STACK_GLOBAL with names that are not strings")
                marker = _MARKERS.get((module, attr))
                if marker is None:
                    raise _Refused(f"the global `{f'{module}.{attr}'[:200]}`")
                stack.append(_Marker(marker))
            elif name == "REDUCE":
                args = stack.pop()
                func = stack.pop()
                stack.append(_reduce(func, args))
            elif name == "BUILD":
                state = stack.pop()
                _build(stack[-1], state)
            elif name == "PROTO":
                if not 2 <= arg <= 5:
                    raise _Refused(f"pickle protocol {arg}")
            elif name == "FRAME":
                pass
            elif name == "STOP":
                if len(stack) != 1 or marks:
                    raise _Refused("a stream that does not end with one object")
                result = stack[0]
                break
            else:
                raise _Refused(f"the opcode {name}")
    except IndexError as e:  # pop from an empty stack or mark stack
        raise _Refused("a malformed stream (an opcode with too few items on the stack)") from e
    except ValueError as e:  # genops: unknown opcode, truncated stream
        raise _Refused(f"a malformed stream ({e})") from e
    return _check_result(result, size, mixed)


def _check_result(result: Any, budget: int, mixed: set[int]) -> list[list[int]]:
    if not (isinstance(result, _Array) and result.built and result.dtype is not None):
        raise _Refused(f"a {type(result).__name__} where a numpy array was expected")
    if result.dtype.code not in ("O8", "O4", "O"):
        raise _Refused(
            f"a pickled array of dtype {_describe(result.dtype.code)} (only object arrays are read)"
        )
    shape = result.shape or ()
    data = result.data
    if len(shape) != 1 or not isinstance(data, list) or len(data) != shape[0]:
        raise _Refused(f"an object array of shape {shape} (a 1-D array of lists was expected)")
    total = 0
    for i, item in enumerate(data):
        if not isinstance(item, list):
            raise _Refused(f"element {i}, a {type(item).__name__}: each element must be a list of ints")
        if id(item) in mixed and not all(map(_is_int, item)):
            bad = next(v for v in item if not _is_int(v))
            raise _Refused(f"element {i} holding a {type(bad).__name__}: each element must be a list of ints")
        total += len(item)
        # Each int costs the stream at least 2 bytes; more means lists repeated through the memo,
        # which would cost memory quadratic in the file's size.
        if total > budget:
            raise _Refused(f"more ints in its lists than its {budget} bytes could hold once each")
    # Fresh lists where a stream references one list twice (memo): the caller gets them independent.
    seen: set[int] = set()
    out = []
    for item in data:
        out.append(list(item) if id(item) in seen else item)
        seen.add(id(item))
    return out


def _read_member(raw: bytes, what: str) -> np.ndarray:
    f = io.BytesIO(raw)
    try:
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            shape, _fortran, dtype = np.lib.format.read_array_header_1_0(f)
        elif version in ((2, 0), (3, 0)):
            # 3.0 differs from 2.0 only by a UTF-8 header; the layout up to the data is the same.
            shape, _fortran, dtype = np.lib.format.read_array_header_2_0(f)
        else:
            raise DatasetError(f"{what} is a .npy of unsupported version {version}.")
    except ValueError as e:
        raise DatasetError(f"{what} is not a readable .npy array: {e}") from e
    if not dtype.hasobject:
        f.seek(0)
        try:
            return np.lib.format.read_array(f, allow_pickle=False)
        except ValueError as e:
            raise DatasetError(f"{what} is not a readable .npy array: {e}") from e
    try:
        lists = _read_object_array(f)
    except _Refused as e:
        raise DatasetError(
            f"Refusing {what}: its pickle holds {e}, which is not what numpy writes for an array of "
            "int lists. Nothing in it was run. Delete the file and download Keras's own again."
        ) from e
    if (len(lists),) != tuple(shape):
        raise DatasetError(
            f"Refusing {what}: its header says shape {shape}, its pickle has {len(lists)} items."
        )
    out = np.empty(len(lists), dtype=object)
    for i, item in enumerate(lists):  # one by one: never a 2-D array, whatever the lengths
        out[i] = item
    return out


def load(path: str | os.PathLike[str], names: tuple[str, ...]) -> dict[str, np.ndarray]:
    """The arrays `names` of a Keras dataset `.npz`: object arrays of int lists, or plain arrays.

    Raises:
        DatasetError: if the file is not a zip of `.npy` arrays, lacks one of `names`, or holds a
            pickle this module does not accept (nothing in the file is run).
    """
    p = Path(path)
    out: dict[str, np.ndarray] = {}
    try:
        with zipfile.ZipFile(p) as archive:
            members = {m.filename: m for m in archive.infolist()}
            for name in names:
                info = members.get(f"{name}.npy")
                if info is None:
                    have = ", ".join(sorted(n.removesuffix(".npy") for n in members)) or "nothing"
                    raise DatasetError(
                        f"{p} is not Keras's dataset file: it has no `{name}` array (it has {have})."
                    )
                what = f"`{name}` in {p}"
                if info.file_size > MAX_MEMBER_BYTES:
                    raise DatasetError(
                        f"Refusing {what}: {info.file_size} bytes uncompressed, over the "
                        f"{MAX_MEMBER_BYTES} allowed."
                    )
                with archive.open(info) as fh:
                    raw = download.read_bounded(fh, MAX_MEMBER_BYTES, what)
                out[name] = _read_member(raw, what)
    except (zipfile.BadZipFile, OSError, EOFError) as e:
        raise DatasetError(
            f"Could not read {p} as an .npz archive: {e}. Delete it and download it again."
        ) from e
    return out
