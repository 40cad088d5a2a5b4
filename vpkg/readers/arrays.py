"""Arrow arrays from Python and numpy values without ``pa.array``'s pandas check.

``pa.array`` and ``pa.scalar`` import pandas, when it is installed, the first time they are
given anything but an Arrow object (to see whether it is a pandas object): about 0.27 s of
CPU, holding the GIL, in a process that never uses pandas. The report readers build their
arrays here instead, from buffers (`ints`, `strings`) or, for nested values, through
``pyarrow.json`` (`from_values`), so that reading a report does not import pandas.

>>> strings(["a", None, "bé"]).to_pylist()
['a', None, 'bé']
>>> from_values([[{"tax_id": 1, "name": "x"}], None], pa.list_(pa.struct(
...     [pa.field("tax_id", pa.int64()), pa.field("name", pa.string())]))).to_pylist()
[[{'tax_id': 1, 'name': 'x'}], None]
"""

from __future__ import annotations

import datetime as dt
import json
import threading

import numpy as np
import pyarrow as pa
import pyarrow.json as pj

_scratch = threading.local()


def equal_mask(data: np.ndarray, byte: int) -> np.ndarray:
    """``data == byte`` (``data`` unsigned integers), written into a buffer reused by the thread (a
    fresh array of each block's size costs page faults); valid until the thread's next
    call."""
    scratch = getattr(_scratch, "mask", None)
    if scratch is None or len(scratch) < len(data):
        scratch = _scratch.mask = np.empty(max(len(data), 8 << 20), bool)
    mask = scratch[:len(data)]
    np.equal(data, byte, out=mask)
    return mask


def holds(data: bytes, word: bytes) -> bool:
    """Whether ``data`` holds the four bytes ``word``: ``word in data``, by array
    comparisons (about 2.5 times as fast, and without holding the GIL)."""
    value = int.from_bytes(word, "little")
    for shift in range(4):
        words = np.frombuffer(data, "<u4", count=(len(data) - shift) // 4, offset=shift)
        if equal_mask(words, value).any():
            return True
    return False


def positions(data: np.ndarray, byte: int) -> np.ndarray:
    """Where ``data`` (uint8) holds ``byte``: ``np.flatnonzero(data == byte)``."""
    return np.flatnonzero(equal_mask(data, byte))


def ints(values: np.ndarray, typ: pa.DataType | None = None) -> pa.Array:
    """An integer array over the numpy array's memory (no nulls)."""
    typ = typ or pa.from_numpy_dtype(values.dtype)
    kind = "i" if pa.types.is_signed_integer(typ) else "u"
    values = np.ascontiguousarray(values, np.dtype(f"{kind}{typ.bit_width // 8}"))
    return pa.Array.from_buffers(typ, len(values), [None, pa.py_buffer(values)])


def to_numpy(array: pa.Array) -> np.ndarray:
    """The values of an integer or boolean array without nulls, as numpy (``to_numpy``
    imports pandas); integers without copying."""
    if array.null_count:
        raise ValueError("an array with nulls")
    data = array.buffers()[1]
    if pa.types.is_boolean(array.type):
        bits = np.unpackbits(np.frombuffer(data, np.uint8), bitorder="little")
        return bits[array.offset:array.offset + len(array)].astype(bool)
    kind = "i" if pa.types.is_signed_integer(array.type) else "u"
    values = np.frombuffer(data, np.dtype(f"{kind}{array.type.bit_width // 8}"))
    return values[array.offset:array.offset + len(array)]


def validity(missing: np.ndarray) -> pa.Buffer | None:
    """The validity bitmap of an array whose nulls are ``missing`` (None: no null)."""
    if not missing.any():
        return None
    return pa.py_buffer(np.packbits(~missing, bitorder="little"))


def binaries(values: list[bytes | None], typ: pa.DataType | None = None) -> pa.Array:
    """A binary (or, with ``typ`` string, string) array of the values; None is null."""
    typ = typ or pa.binary()
    missing = np.fromiter((v is None for v in values), bool, len(values))
    present = [b"" if v is None else v for v in values] if missing.any() else values
    offsets = np.zeros(len(values) + 1, np.int64)
    np.cumsum(np.fromiter(map(len, present), np.int64, len(values)), out=offsets[1:])
    if offsets[-1] >= 1 << 31:
        typ = pa.large_binary() if typ == pa.binary() else pa.large_string()
    else:
        offsets = offsets.astype(np.int32)
    return pa.Array.from_buffers(typ, len(values), [
        validity(missing), pa.py_buffer(offsets), pa.py_buffer(b"".join(present))])


def strings(values: list[str | None]) -> pa.Array:
    """A string array of the values; None is null."""
    return binaries([None if v is None else v.encode() for v in values], pa.string())


def empty_table(schema: pa.Schema) -> pa.Table:
    """``schema.empty_table()``, which imports pandas."""
    return pa.Table.from_arrays([pa.nulls(0, f.type) for f in schema], schema=schema)


def scalar(value: object, typ: pa.DataType) -> pa.Scalar:
    """``pa.scalar(value, typ)`` (see `from_values`)."""
    return from_values([value], typ)[0]


def _json(value: object) -> object:
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ", timespec="microseconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    raise TypeError(type(value).__name__)


def _source(typ: pa.DataType) -> pa.DataType:
    """The type pyarrow.json reads for ``typ`` (dates and times as strings, then cast)."""
    if pa.types.is_date(typ) or pa.types.is_timestamp(typ):
        return pa.string()
    if pa.types.is_list(typ):
        return pa.list_(_source(typ.value_type))
    if pa.types.is_struct(typ):
        return pa.struct([pa.field(f.name, _source(f.type)) for f in typ])
    if pa.types.is_string(typ) or pa.types.is_integer(typ) or pa.types.is_boolean(typ):
        return typ
    raise TypeError(f"no JSON reading for {typ}")


def from_values(values: list, typ: pa.DataType) -> pa.Array:
    """The array of Python values of ``typ`` (strings, integers, booleans, dates,
    timestamps, lists and structs of them, None), as ``pa.array(values, typ)`` gives.

    Each value is written as JSON and read back by ``pyarrow.json`` under the type.
    """
    if not values:
        return pa.nulls(0, typ)
    field = pa.field("v", _source(typ))
    text = "\n".join(json.dumps({"v": v}, ensure_ascii=False, separators=(",", ":"),
                                default=_json) for v in values).encode()
    table = pj.read_json(pa.BufferReader(text),
                         read_options=pj.ReadOptions(use_threads=False, block_size=len(text) + 1),
                         parse_options=pj.ParseOptions(explicit_schema=pa.schema([field])))
    array = table.column(0).combine_chunks()
    return array if array.type == typ else array.cast(typ)
