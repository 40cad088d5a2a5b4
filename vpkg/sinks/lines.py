"""Text outputs made of lines: DuckDB builds each line, Python writes them as they stream.

DuckDB's own ``COPY ... TO`` keeps rows in order by holding the rows of later batches while
an earlier one is written, so its memory grows with the data; building one text line per
row in SQL and writing each Arrow batch of lines as it comes keeps memory at a few batches.

* `delimited_sql`: CSV or TSV lines. A value holding the delimiter, a double quote or a line
  break is quoted, inner quotes doubled (RFC 4180); NULL is an empty field and an empty
  string ``""``; lists, structs and maps are JSON text; timestamps ISO (``T``).
* `ndjson_sql`: one JSON object per row (DuckDB's ``to_json`` of the row): numbers, booleans,
  lists as arrays, structs and maps as objects, dates ``YYYY-MM-DD``, timestamps
  ``YYYY-MM-DDTHH:MM:SS[.fff]``, NULL as ``null``.

>>> import duckdb
>>> con = duckdb.connect()
>>> sql = delimited_sql(con, "SELECT 'a\\tb' AS x, NULL AS y, '' AS z", "\\t")
>>> con.sql(sql).fetchall()
[('"a\\tb"\\t\\t""',)]
"""

from __future__ import annotations

import functools
from typing import IO, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from vpkg.readers.arrays import scalar
from vpkg.sinks.duckdb_common import quote

#: The single column of the line queries.
LINE = "line"


def write_lines(stream: Any, out: IO[bytes], header: str | None = None) -> int:
    """Write ``header`` (if any) and the ``line`` column of every row, one per line;
    return the number of rows.

    Each batch's lines are joined by Arrow (a line break after each) and its buffer written
    as it is: no Python string per line, no second copy of the batch's text.
    """
    if header is not None:
        out.write((header + "\n").encode())
    rows = 0
    for batch in pa.RecordBatchReader.from_stream(stream):
        lines = batch.column(0)
        if not len(lines):
            continue
        if not (pa.types.is_string(lines.type) or pa.types.is_large_string(lines.type)):
            lines = lines.cast(pa.string())  # e.g. string_view: another buffer layout
        empty, newline = _separators(lines.type)
        if lines.null_count:
            lines = pc.fill_null(lines, empty)
        joined = pc.binary_join_element_wise(lines, empty, newline)
        _, offsets, data = joined.buffers()
        width = np.int64 if pa.types.is_large_string(joined.type) else np.int32
        bounds = np.frombuffer(offsets, width)[[joined.offset, joined.offset + len(joined)]]
        out.write(memoryview(data)[int(bounds[0]):int(bounds[1])])
        rows += len(lines)
    return rows


@functools.cache
def _separators(typ: pa.DataType) -> tuple[pa.Scalar, pa.Scalar]:
    """The empty text and the line break as scalars of ``typ`` (built once per type: each
    `scalar` is a small ``pyarrow.json`` read)."""
    return scalar("", pa.string()).cast(typ), scalar("\n", pa.string()).cast(typ)


def needs_quotes(value: str, delimiter: str) -> str:
    """SQL: ``value`` quoted when it holds the delimiter, a quote or a line break."""
    pattern = "[" + {"\t": "\\t", ",": ","}.get(delimiter, delimiter) + '\\n\\r"]'
    return (f"CASE WHEN regexp_matches({value}, '{pattern}') "
            f"THEN '\"' || replace({value}, '\"', '\"\"') || '\"' ELSE {value} END")


def delimited_sql(con: Any, sql: str, delimiter: str) -> str:
    """The rows of ``sql`` as CSV/TSV lines (column ``line``)."""
    cells = []
    for name, duck_type in _columns(con, sql):
        value = _text(quote(name), duck_type)
        cells.append(f"CASE WHEN {quote(name)} IS NULL THEN '' WHEN {value} = '' THEN '\"\"' "
                     f"ELSE {needs_quotes(value, delimiter)} END")
    separator = "chr(9)" if delimiter == "\t" else f"'{delimiter}'"
    return f"SELECT concat_ws({separator}, {', '.join(cells)}) AS {LINE} FROM ({sql}) AS rows"


def delimited_header(con: Any, sql: str, delimiter: str) -> str:
    """The header line of `delimited_sql`: the column names, quoted where needed."""
    names = []
    for name, _ in _columns(con, sql):
        special = any(c in name for c in (delimiter, '"', "\n", "\r"))
        names.append('"' + name.replace('"', '""') + '"' if special else name)
    return delimiter.join(names)


def ndjson_sql(con: Any, sql: str) -> str:
    """The rows of ``sql`` as JSON object lines (column ``line``)."""
    parts = []
    for name, duck_type in _columns(con, sql):
        col = quote(name)
        if duck_type.startswith("TIMESTAMP"):
            col = f"replace(CAST({col} AS VARCHAR), ' ', 'T') AS {col}"
        parts.append(col)
    return (f"SELECT CAST(to_json(__vpkg_row) AS VARCHAR) AS {LINE} FROM "
            f"(SELECT {', '.join(parts)} FROM ({sql}) AS selected) AS __vpkg_row")


def _columns(con: Any, sql: str) -> list[tuple[str, str]]:
    return [(row[0], row[1]) for row in con.execute(f"DESCRIBE {sql}").fetchall()]


def _text(col: str, duck_type: str) -> str:
    if duck_type.endswith("]") or duck_type.startswith(("STRUCT", "MAP")):
        return f"CAST(to_json({col}) AS VARCHAR)"
    if duck_type.startswith("TIMESTAMP"):
        return f"replace(CAST({col} AS VARCHAR), ' ', 'T')"
    return f"CAST({col} AS VARCHAR)"
