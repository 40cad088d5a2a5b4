"""The derived columns of ``genomes``: collection date ranges and the parts of a location.

`add_derived` runs on every parsed batch, whichever path (native or Python) parsed it, so
both paths give the same values. The verbatim columns stay as they are.

- ``collection_date`` (`YYYY`, `YYYY-MM` or `YYYY-MM-DD`) gives ``collection_year``,
  ``collection_date_precision`` and the days it covers, ``collection_date_start`` and
  ``collection_date_end``; anything else (or an impossible day such as `2019-02-30`) gives
  nulls.
- ``geo_location`` is split the INSDC way, ``Country: division, locality``: the country is
  the text before the first ``:``, the division the text after it up to the first comma,
  the locality the rest, each stripped of surrounding spaces (empty gives null).

>>> import pyarrow as pa
>>> date_parts(pa.array(["2019-02", "2019", None])).to_pylist()[0]
{'year': 2019, 'precision': 'month', 'start': datetime.date(2019, 2, 1), \
'end': datetime.date(2019, 2, 28)}
>>> geo_parts(pa.array(["Japan:Niigata, Sato, Lake Kamo"])).to_pylist()
[{'country': 'Japan', 'division': 'Niigata', 'locality': 'Sato, Lake Kamo'}]
"""

from __future__ import annotations

import calendar
import datetime as dt
import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from vpkg.readers.arrays import from_values, scalar, strings, to_numpy, validity
from vpkg.schema import schema

_DATE = re.compile(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")
_DATE_PARTS = pa.struct([
    pa.field("year", pa.int32()),
    pa.field("precision", pa.string()),
    pa.field("start", pa.date32()),
    pa.field("end", pa.date32()),
])
#: INSDC /geo_loc_name: "Country[: division[, locality]]"; RE2 syntax for pyarrow.compute.
_GEO = (r"(?s)^\s*(?P<country>[^:]*?)\s*"
        r"(?::\s*(?P<division>[^,]*?)\s*(?:,\s*(?P<locality>.*?))?\s*)?$")


def _date_range(text: str) -> dict | None:
    """Year, precision and first/last day of one date text; None when it is not a date."""
    m = _DATE.fullmatch(text)
    if m is None:
        return None
    year, month, day = (int(g) if g else None for g in m.groups())
    try:
        if month is None:
            start, end, precision = dt.date(year, 1, 1), dt.date(year, 12, 31), "year"
        elif day is None:
            last = calendar.monthrange(year, month)[1]
            start, end, precision = dt.date(year, month, 1), dt.date(year, month, last), "month"
        else:
            start = end = dt.date(year, month, day)
            precision = "day"
    except ValueError:  # month 13, day 30 of February, year 0
        return None
    return {"year": year, "precision": precision, "start": start, "end": end}


def date_parts(dates: pa.Array | pa.ChunkedArray) -> pa.Array:
    """struct<year, precision, start, end> of each collection date text (null if not a date).

    Calendar rules (month lengths, leap years, impossible days) are Python's `datetime`:
    pyarrow's strptime rolls `2019-02-30` over to March. Each distinct text of the batch is
    converted once, then spread with ``take``; plain ASCII texts by array operations
    (numpy's calendar, which is Python's), any other (``\\d`` matches every Unicode digit
    in Python) by `_date_range`.
    """
    distinct = pc.unique(dates)
    if isinstance(distinct, pa.ChunkedArray):
        distinct = distinct.combine_chunks()
    if pc.all(pc.string_is_ascii(distinct)).as_py() is False:
        parts = from_values([None if t is None else _date_range(t)
                             for t in distinct.to_pylist()], _DATE_PARTS)
    else:
        parts = _ascii_date_parts(distinct)
    return parts.take(pc.index_in(dates, value_set=distinct))


_ASCII_DATE = r"^(?P<year>[0-9]{4})(?:-(?P<month>[0-9]{2})(?:-(?P<day>[0-9]{2}))?)?$"
#: precision of a date with a month and a day, a month only, neither
_PRECISION_NAMES = strings(["day", "month", "year"])
_EMPTY, _ZERO = scalar("", pa.string()), scalar("0", pa.string())
_NO_TEXT = scalar(None, pa.string())


def _numbers(texts: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(the integers of digit texts, 0 where a text is empty or null; where one is given)."""
    given = pc.not_equal(pc.fill_null(texts, _EMPTY), _EMPTY)
    numbers = pc.if_else(given, texts, _ZERO).cast(pa.int32())
    return to_numpy(numbers), to_numpy(given)


def _ascii_date_parts(texts: pa.Array) -> pa.StructArray:
    """`date_parts` of distinct ASCII texts, by array operations."""
    match = pc.extract_regex(texts, _ASCII_DATE)
    matched = to_numpy(pc.is_valid(match))
    (year, _), (month, has_month), (day, has_day) = (
        _numbers(pc.struct_field(match, [i])) for i in range(3))
    precision = np.where(has_month, np.where(has_day, 0, 1), 2)
    months = ((year - 1970) * 12 + np.clip(month, 1, 12) - 1).astype("datetime64[M]")
    first = months.astype("datetime64[D]")
    following = (months + 1).astype("datetime64[D]")
    valid = (matched & (year >= 1) & ((precision == 2) | ((month >= 1) & (month <= 12)))
             & ((precision > 0) | ((day >= 1) & (first + day - 1 < following))))
    start = np.where(precision == 0, first + np.maximum(day, 1) - 1, first)
    end = np.where(precision == 0, start, following - 1)
    year_end = (year - 1970 + 1).astype("datetime64[Y]").astype("datetime64[D]") - 1
    end = np.where(precision == 2, year_end, end)
    nulls = validity(~valid)

    def column(typ: pa.DataType, values: np.ndarray) -> pa.Array:
        return pa.Array.from_buffers(typ, len(values), [nulls, pa.py_buffer(values)])

    return pa.StructArray.from_arrays(
        [column(pa.int32(), year.astype(np.int32)),
         _PRECISION_NAMES.take(column(pa.int32(), precision.astype(np.int32))),
         column(pa.date32(), start.astype(np.int64).astype(np.int32)),
         column(pa.date32(), end.astype(np.int64).astype(np.int32))],
        fields=list(_DATE_PARTS),
        mask=pa.Array.from_buffers(pa.bool_(), len(valid), [
            None, pa.py_buffer(np.packbits(~valid, bitorder="little"))])
        if nulls is not None else None)


def geo_parts(locations: pa.Array | pa.ChunkedArray) -> pa.StructArray:
    """struct<country, division, locality> of each location text (empty parts null).

    Each distinct text of the batch is split once, then spread with ``take``.
    """
    distinct = pc.unique(locations)
    parts = pc.extract_regex(distinct, _GEO)
    fields = []
    for i in range(parts.type.num_fields):
        child = pc.struct_field(parts, [i])
        fields.append(pc.if_else(pc.equal(child, _EMPTY), _NO_TEXT, child))
    split = pa.StructArray.from_arrays(fields, names=["country", "division", "locality"])
    return split.take(pc.index_in(locations, value_set=distinct))


def add_derived(batch: pa.RecordBatch) -> pa.RecordBatch:
    """``batch`` (the parsed ``genomes`` columns) with the derived columns, in table order."""
    dates = date_parts(batch.column("collection_date"))
    geo = geo_parts(batch.column("geo_location"))
    columns = dict(zip(batch.schema.names, batch.columns, strict=True))
    columns.update({
        "collection_year": pc.struct_field(dates, [0]),
        "collection_date_precision": pc.struct_field(dates, [1]),
        "collection_date_start": pc.struct_field(dates, [2]),
        "collection_date_end": pc.struct_field(dates, [3]),
        "geo_country": pc.struct_field(geo, [0]),
        "geo_division": pc.struct_field(geo, [1]),
        "geo_locality": pc.struct_field(geo, [2]),
    })
    out = schema("genomes")
    return pa.RecordBatch.from_arrays([columns[name] for name in out.names], schema=out)
