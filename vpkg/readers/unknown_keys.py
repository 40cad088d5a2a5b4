"""The ``extra`` text of report lines carrying keys the schema does not know, from a native parse.

`vpkg.readers.json_arrow` parses a block with ``unexpected_field_behavior="infer"``: keys
outside the schema come back as additional top-level columns, typed by pyarrow. For each
line holding some, `extra_texts` writes what the Python path writes: compact JSON (``json.dumps``
with ``ensure_ascii=False``) of an object holding those keys, in the line's order.

pyarrow may decode a value otherwise than ``json.loads`` (a float written ``1.50``, an
integer beyond 64 bits, an escaped character; a text it reads as a timestamp is written
back as NCBI writes dates). So the text is checked against the line itself: the key's text
(``"key":``) must occur exactly once in the line (then it is the top-level key pyarrow
read), and be followed there by the value as written from pyarrow's value, then by ``,`` or
``}``. Then the line's own text of the value is that piece, ``json.loads`` reads it back as
the value written, and ``json.dumps`` writes the same piece: the ``extra`` text is exact. A
line failing the check makes the whole block go to the Python path.

>>> import pyarrow as pa

from vpkg.readers.arrays import strings
>>> t = pa.table({"accession": ["A"], "newKey": [{"n": 3}]})
>>> extra_texts(t, ["newKey"], [b'{"accession":"A","newKey":{"n":3}}']).to_pylist()
['{"newKey":{"n":3}}']
"""

from __future__ import annotations

import datetime as dt
import json

import pyarrow as pa

from vpkg.readers.arrays import strings


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
    out: list[str | None] = [None] * len(lines)
    keys = [(_dumps(name) + ":", table.column(name).to_pylist()) for name in unknown]
    last: dict[str, tuple] = {}  # key -> (value, its texts): lines often repeat a value
    for row, line in enumerate(lines):
        pieces = []
        for key, values in keys:
            value = values[row]
            if value is None:  # absent: the block holds no null (see json_arrow._screen)
                continue
            seen = last.get(key)
            if seen is None or seen[0] != value:  # (1 == 1.0 == True: the line decides)
                seen = last[key] = (value, _texts(key, value))
            found = _find(line, key, seen[1])
            if found is None:
                return None
            pieces.append(found)
        if pieces:
            pieces.sort()
            out[row] = "{" + ",".join(p for _, p in pieces) + "}"
    return strings(out)


def _texts(key: str, value: object) -> list[str]:
    """The ``"key":value`` texts of a value, as each of `_WRITERS` writes it."""
    texts = []
    for write in _WRITERS:
        try:
            texts.append(key + write(value))
        except (TypeError, ValueError):  # NaN, or a type JSON has no text for
            break
    return texts


def _find(line: bytes, key: str, texts: list[str]) -> tuple[int, str] | None:
    """(position, text) when the line's one ``"key":`` is followed by one of ``texts``'
    values, then by ``,`` or ``}``; None otherwise."""
    key_bytes = key.encode()
    at = line.find(key_bytes)
    if at == -1 or line.find(key_bytes, at + 1) != -1:
        return None
    for piece in texts:
        encoded = piece.encode()
        end = at + len(encoded)
        if line.startswith(encoded, at) and line[end:end + 1] in (b",", b"}"):
            return at, piece
    return None
