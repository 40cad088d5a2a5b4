"""JSON Lines members: line iteration with clear errors, and the column extraction rules.

`extract` turns one JSON record into column values following `vpkg.schema.Column`
declarations. What no column takes stays in the record and becomes the ``extra`` JSON
text, so that no value is ever lost: unknown fields, unknown nested keys, and values whose
type does not fit their column (the column is then null).
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Iterable, Iterator
from typing import IO

import pyarrow as pa

from vpkg.errors import FormatError
from vpkg.schema import Column, camel

#: Longest JSON line accepted (a SARS-CoV-2 V1 line with its annotation is ~30 KB).
MAX_LINE_BYTES = 64 << 20

_MISSING = object()


def iter_json_lines(stream: IO[bytes], where: str) -> Iterator[tuple[int, dict]]:
    """Yield (line number, object) for each non-blank line; BOM and CRLF are accepted."""
    for number, raw in enumerate(_lines(stream, where), start=1):
        record = parse_line(raw, number, where)
        if record is not None:
            yield number, record


def parse_line(raw: bytes, number: int, where: str) -> dict | None:
    """The object on line ``number`` (None for a blank line); FormatError if it is not one."""
    if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    line = raw.strip()
    if not line:
        return None
    try:
        record = json.loads(line)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, bad UTF-8, too deep
        raise FormatError(
            f"{where} line {number}: not valid JSON ({exc}); the member is damaged, "
            "download the package again",
            member=where,
            line=number,
        ) from None
    if (b"\\ud" in line or b"\\uD" in line) and not _valid_unicode(record):
        raise FormatError(
            f"{where} line {number}: a string holds an unpaired surrogate escape "
            "(\\ud800-\\udfff), which is not valid Unicode; the member is damaged",
            member=where,
            line=number,
        )
    if not isinstance(record, dict):
        raise FormatError(
            f"{where} line {number}: expected a JSON object, found "
            f"{type(record).__name__}",
            member=where,
            line=number,
        )
    return record


def _valid_unicode(record) -> bool:
    try:
        json.dumps(record, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _lines(stream: IO[bytes], where: str) -> Iterator[bytes]:
    number = 0
    while True:
        raw = stream.readline(MAX_LINE_BYTES + 1)
        if not raw:
            return
        number += 1
        if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
            raise FormatError(
                f"{where} line {number}: longer than {MAX_LINE_BYTES:,} bytes; this is "
                "not a JSON Lines report",
                member=where,
                line=number,
            )
        yield raw


# ---- value conversion ---------------------------------------------------------------------


def convert(value, typ: pa.DataType):
    """(converted, leftover): leftover is what the column could not take (or _MISSING)."""
    if value is None:
        return None, _MISSING
    entry = _COMPILED.get(id(typ))
    if entry is None or entry[0] is not typ:
        function = _compile(typ)
        if len(_COMPILED) >= 4096:
            _COMPILED.clear()
        _COMPILED[id(typ)] = entry = (typ, function)  # holds typ: its id is not reused
    return entry[1](value)


#: id(type) -> (type, its conversion): the Python path converts every value of every line,
#: and inspecting (or hashing, 3 us) a pyarrow type per value cost more than converting it.
_COMPILED: dict[int, tuple[pa.DataType, object]] = {}


def _compile(typ: pa.DataType):
    """The conversion of a non-null value to ``typ``, with nested types resolved once."""
    if pa.types.is_string(typ) or pa.types.is_large_string(typ):
        return lambda value: (value, _MISSING) if isinstance(value, str) else (None, value)
    if pa.types.is_boolean(typ):
        return lambda value: (value, _MISSING) if isinstance(value, bool) else (None, value)
    if pa.types.is_integer(typ):
        return functools.partial(_to_int, typ=typ)
    if pa.types.is_date32(typ):
        return _to_date
    if pa.types.is_timestamp(typ):
        return _to_timestamp
    if pa.types.is_list(typ):
        return functools.partial(_to_list, item=_compile(typ.value_type))
    if pa.types.is_struct(typ):
        fields = tuple((f.name, camel(f.name), _compile(f.type)) for f in typ)
        return functools.partial(_to_struct, fields=fields)
    raise TypeError(f"no JSON conversion for {typ}")  # a bug in schema.py, not in the data


def _to_int(value, typ: pa.DataType):
    if isinstance(value, bool):
        return None, value
    number = value
    if isinstance(value, str):  # protobuf JSON writes 64-bit integers as strings
        try:
            number = int(value)
        except ValueError:
            return None, value
    if not isinstance(number, int):
        return None, value
    bits = typ.bit_width - 1
    if not -(1 << bits) <= number < (1 << bits):
        return None, value
    return number, (_MISSING if number is value or str(number) == value else value)


def _to_date(value):
    if not isinstance(value, str):
        return None, value
    try:
        day = dt.date.fromisoformat(value[:10])
    except ValueError:
        return None, value
    rest = value[10:]
    return day, (_MISSING if rest in ("", "T00:00:00Z") else value)


def _to_timestamp(value):
    if not isinstance(value, str):
        return None, value
    try:
        stamp = dt.datetime.fromisoformat(value)
    except ValueError:
        return None, value
    offset = stamp.utcoffset()
    if offset is not None:
        stamp = (stamp - offset).replace(tzinfo=None)
    # the column keeps milliseconds in UTC; a finer time or another zone stays in extra
    exact = stamp.microsecond % 1000 == 0 and not offset
    return stamp, (_MISSING if exact else value)


def _to_list(value, item):
    if not isinstance(value, list):
        return None, value
    items, leftovers = [], []
    for element in value:
        converted, left = (None, _MISSING) if element is None else item(element)
        items.append(converted)
        leftovers.append(left)
    if all(left is _MISSING for left in leftovers):
        return items, _MISSING
    return items, [({} if left is _MISSING else left) for left in leftovers]


def _to_struct(value, fields):
    if not isinstance(value, dict):
        return None, value
    rest = dict(value)
    out = {}
    for name, key, function in fields:
        if key in rest:
            item = rest.pop(key)
            converted, left = (None, _MISSING) if item is None else function(item)
            out[name] = converted
            if left is not _MISSING:
                rest[key] = left
        else:
            out[name] = None
    return out, (rest if rest else _MISSING)


# ---- record extraction --------------------------------------------------------------------


def take(record: dict, path: tuple[str, ...], typ: pa.DataType):
    """Remove the value at ``path`` from ``record`` and convert it.

    Returns the converted value, or _MISSING when the path is absent. What cannot be
    converted is put back. Parents left empty are removed.
    """
    parents = []
    node = record
    for key in path[:-1]:
        child = node.get(key)
        if not isinstance(child, dict):
            return _MISSING
        parents.append((node, key))
        node = child
    last = path[-1]
    if last not in node:
        return _MISSING
    converted, left = convert(node.pop(last), typ)
    if left is not _MISSING:
        node[last] = left
    for parent, key in reversed(parents):
        if parent[key]:
            break
        del parent[key]
    return converted


def extract(record: dict, columns: list[Column]) -> dict:
    """Column values of one record; the record keeps only what no column took."""
    row = {}
    for column in columns:
        if not column.path:
            continue
        value = _MISSING
        for path in (column.path, *column.fallbacks):
            value = take(record, path, column.type)
            if value is not _MISSING:
                break
        row[column.name] = column.absent if value is _MISSING else value
    return row


def extra_text(leftover: dict) -> str | None:
    """The ``extra`` column value: compact JSON of what is left, or None."""
    if not leftover:
        return None
    return json.dumps(leftover, ensure_ascii=False, separators=(",", ":"))


# ---- batches -------------------------------------------------------------------------------


def record_batches(rows: Iterator[dict], schema: pa.Schema, batch_size: int):
    """Group row dicts into record batches of at most ``batch_size`` rows."""
    names = schema.names
    columns: dict[str, list] = {name: [] for name in names}
    count = 0
    for row in rows:
        for name in names:
            columns[name].append(row.get(name))
        count += 1
        if count == batch_size:
            yield _batch(columns, schema)
            columns = {name: [] for name in names}
            count = 0
    if count:
        yield _batch(columns, schema)


def _batch(columns: dict[str, list], schema: pa.Schema) -> pa.RecordBatch:
    arrays = [pa.array(columns[f.name], type=f.type) for f in schema]
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def report_rows(stream: IO[bytes], where: str, columns: list[Column]) -> Iterator[dict]:
    """Rows of a JSON Lines report whose columns are all declared in ``columns``."""
    return report_rows_of(iter_json_lines(stream, where), where, columns)


def report_rows_of(
    records: Iterable[tuple[int, dict]], where: str, columns: list[Column]
) -> Iterator[dict]:
    """Rows of (line number, record) pairs; every record must name an accession."""
    for number, record in records:
        row = extract(record, columns)
        require_accession(row, where, number)
        row["extra"] = extra_text(record)
        yield row


def require_accession(row: dict, where: str, number: int) -> None:
    """Every report line must name an accession: a `FormatError` otherwise."""
    if not isinstance(row.get("accession"), str):
        raise FormatError(
            f"{where} line {number}: the record has no accession; every report line "
            "must name one",
            member=where,
            line=number,
        )
