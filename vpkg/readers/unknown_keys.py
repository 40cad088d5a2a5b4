"""The ``extra`` text of report lines carrying keys the schema does not know, from a native parse.

`vpkg.readers.json_arrow` parses a block with ``unexpected_field_behavior="infer"``: keys
outside the schema come back as additional top-level columns, typed by pyarrow. For each
line holding some, `extra_texts` writes what the Python path writes: compact JSON (``json.dumps``
with ``ensure_ascii=False``) of an object holding those keys, in the line's order.

pyarrow may decode a value otherwise than ``json.loads`` (a float written ``1.50``, an
integer beyond 64 bits, an escaped character; a text it reads as a timestamp is written
back as NCBI writes dates). So each ``"key":value`` piece, written from pyarrow's value,
must occur exactly once, byte for byte, in the line itself; then ``json.loads`` gives that
same value (a JSON text has one meaning), and the piece's position gives the key order. A
line failing this check makes the whole block go to the Python path.

>>> import pyarrow as pa
>>> t = pa.table({"accession": ["A"], "newKey": [{"n": 3}]})
>>> extra_texts(t, ["newKey"], [b'{"accession":"A","newKey":{"n":3}}']).to_pylist()
['{"newKey":{"n":3}}']
"""

from __future__ import annotations

import datetime as dt
import json

import pyarrow as pa


def _stamp(value: object) -> str:
    """A timestamp pyarrow inferred, as NCBI writes one (``2020-01-02T03:04:05Z``)."""
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    raise TypeError(type(value).__name__)


def _day(value: object) -> str:
    """A timestamp at midnight written as a day (``2020-01-02``), the other form pyarrow
    reads as a timestamp."""
    if isinstance(value, dt.datetime) and value.time() == dt.time():
        return value.strftime("%Y-%m-%d")
    return _stamp(value)


_OPTIONS = {"ensure_ascii": False, "separators": (",", ":"), "allow_nan": False}
_dumps = json.JSONEncoder(**_OPTIONS).encode
#: How a value may have been written: as json.dumps writes it, then with either text of
#: a timestamp (each is checked against the line, so a wrong guess is only refused).
_WRITERS = [json.JSONEncoder(default=_stamp, **_OPTIONS).encode,
            json.JSONEncoder(default=_day, **_OPTIONS).encode]


def extra_texts(table: pa.Table, unknown: list[str], lines: list[bytes]) -> pa.Array | None:
    """The ``extra`` column (string, null for a line with no unknown key), or None when some
    line's unknown values cannot be shown to be what ``json.loads`` reads."""
    keys = [(_dumps(name) + ":", table.column(name).to_pylist()) for name in unknown]
    out: list[str | None] = []
    for row, line in enumerate(lines):
        pieces = []
        for key, values in keys:
            value = values[row]
            if value is None:  # absent: the block holds no null (see json_arrow._screen)
                continue
            found = _find(line, key, value)
            if found is None:
                return None
            pieces.append(found)
        if not pieces:
            out.append(None)
            continue
        pieces.sort()
        out.append("{" + ",".join(p for _, p in pieces) + "}")
    return pa.array(out, pa.string())


def _find(line: bytes, key: str, value: object) -> tuple[int, str] | None:
    """(position, ``"key":value`` text) of the one place the line holds the value as one
    of `_WRITERS` writes it; None when it holds none of them exactly once."""
    for write in _WRITERS:
        try:
            piece = key + write(value)
        except (TypeError, ValueError):  # NaN, or a type JSON has no text for
            return None
        encoded = piece.encode()
        at = line.find(encoded)
        if at != -1 and line.find(encoded, at + 1) == -1:
            return at, piece
    return None
