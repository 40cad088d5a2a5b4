"""Query results as text: an aligned table for a terminal, CSV, JSON or JSON Lines for pipes.

Nested values (lists, structs, maps) are written as JSON; dates and times in ISO 8601. In the
table format a NULL shows as ``NULL`` and long cells are cut to ``max_width`` characters;
CSV and JSON keep every value whole (NULL is an empty CSV field, JSON ``null``).

>>> import duckdb, io, sys
>>> con = duckdb.connect()
>>> _ = write_result(con.execute("SELECT 'MN908947.3' AS accession, 29903 AS length"), "table",
...                  sys.stdout)
accession   length
----------  ------
MN908947.3   29903
(1 row)
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import decimal
import json
import uuid
from collections.abc import Iterator
from typing import IO, Any

from vpkg.errors import ParameterError

FORMATS = ("table", "csv", "json", "jsonl")
FETCH = 1000


def write_result(cursor: Any, fmt: str, out: IO[str], max_width: int = 60) -> int:
    """Write the rows a DuckDB cursor holds to ``out`` as ``fmt``; return the row count.

    A statement that returns no result (``CREATE``, ``SET``...) writes nothing.
    """
    if fmt not in FORMATS:
        raise ParameterError(f"format {fmt!r} is not one of {', '.join(FORMATS)}", "format")
    if cursor.description is None:
        return 0
    names = [d[0] for d in cursor.description]
    rows = _rows(cursor)
    if fmt == "csv":
        return _csv(names, rows, out)
    if fmt in ("json", "jsonl"):
        return _json(names, rows, out, lines=fmt == "jsonl")
    return _table(names, rows, out, max_width)


def _rows(cursor: Any) -> Iterator[tuple]:
    while chunk := cursor.fetchmany(FETCH):
        yield from chunk


def _csv(names: list[str], rows: Iterator[tuple], out: IO[str]) -> int:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(names)
    count = 0
    for row in rows:
        writer.writerow(["" if v is None else _text(v) for v in row])
        count += 1
    return count


def _json(names: list[str], rows: Iterator[tuple], out: IO[str], lines: bool) -> int:
    count = 0
    for row in rows:
        text = json.dumps(dict(zip(names, row, strict=True)), default=_json_value,
                          ensure_ascii=False)
        if lines:
            out.write(text + "\n")
        else:
            out.write(("[\n" if count == 0 else ",\n") + text)
        count += 1
    if not lines:
        out.write("[]\n" if count == 0 else "\n]\n")
    return count


def _table(names: list[str], rows: Iterator[tuple], out: IO[str], max_width: int) -> int:
    values = list(rows)
    texts = [[_cell(v, max_width) for v in row] for row in values]
    right = [
        all(row[i] is None or _is_number(row[i]) for row in values)
        and any(_is_number(row[i]) for row in values)
        for i in range(len(names))
    ]
    widths = [max([len(n), *(len(row[i]) for row in texts)]) for i, n in enumerate(names)]
    out.write("  ".join(n.ljust(w) for n, w in zip(names, widths, strict=True)).rstrip() + "\n")
    out.write("  ".join("-" * w for w in widths) + "\n")
    for row in texts:
        cells = zip(row, widths, right, strict=True)
        parts = [t.rjust(w) if r else t.ljust(w) for t, w, r in cells]
        out.write("  ".join(parts).rstrip() + "\n")
    out.write(f"({len(values)} row{'' if len(values) == 1 else 's'})\n")
    return len(values)


def _is_number(value: Any) -> bool:
    """Columns of numbers (and NULLs) are right-aligned; booleans are not numbers here."""
    return isinstance(value, int | float | decimal.Decimal) and not isinstance(value, bool)


def _cell(value: Any, max_width: int) -> str:
    """The display text of a table cell: one line, at most ``max_width`` characters."""
    text = "NULL" if value is None else " ".join(_text(value).split())
    if len(text) > max_width:
        text = text[: max(1, max_width - 1)] + "…"
    return text


def _text(value: Any) -> str:
    """A value as CSV or table text: nested values as JSON, the rest as ISO or str."""
    if isinstance(value, list | dict | tuple):
        return json.dumps(value, default=_json_value, ensure_ascii=False)
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    return str(value)


def _json_value(value: Any) -> Any:
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, uuid.UUID | dt.timedelta):
        return str(value)
    raise TypeError(f"cannot write a {type(value).__name__} as JSON")
