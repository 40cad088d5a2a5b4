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

import pyarrow as pa
import pyarrow.compute as pc

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
    converted once, then spread with ``take``.
    """
    distinct = pc.unique(dates)
    parts = pa.array([None if t is None else _date_range(t) for t in distinct.to_pylist()],
                     _DATE_PARTS)
    return parts.take(pc.index_in(dates, value_set=distinct))


def geo_parts(locations: pa.Array | pa.ChunkedArray) -> pa.StructArray:
    """struct<country, division, locality> of each location text (empty parts null)."""
    parts = pc.extract_regex(locations, _GEO)
    if isinstance(parts, pa.ChunkedArray):
        parts = parts.combine_chunks()
    fields = []
    for i in range(parts.type.num_fields):
        child = pc.struct_field(parts, [i])
        fields.append(pc.if_else(pc.equal(child, ""), pa.scalar(None, pa.string()), child))
    return pa.StructArray.from_arrays(fields, names=["country", "division", "locality"])


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
