"""What a package's genomes are about: viruses, hosts, countries, collection and release dates.

`vpkg info` prints it under the table counts.

>>> import vpkg
>>> genomes = vpkg.open_package("fixtures/real/Rotavirus_J.zip").table("genomes")
>>> print(format_contents(contents(genomes)))
viruses     1: Rotavirus J (32)
hosts       3: Miniopterus schreibersii (22), Rhinolophus sinicus (9), Larus dominicanus (1)
countries   3: Serbia (22), China (9), Antarctica (1)
collected   2014-10-03 to 2023-02-02 (no date: 0)
released    2016-12-27 to 2024-12-02
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

#: The columns `contents` reads.
COLUMNS = ["virus_name", "host_name", "geo_country", "collection_date_start",
           "collection_date_end", "release_date"]
#: Names shown per line; the rest are counted.
SHOWN = 3


@dataclass
class Contents:
    """Counts by virus, host and country (most frequent first) and the date ranges."""

    genomes: int
    viruses: list[tuple[str, int]] = field(default_factory=list)
    hosts: list[tuple[str, int]] = field(default_factory=list)
    countries: list[tuple[str, int]] = field(default_factory=list)
    collected: tuple[dt.date, dt.date] | None = None
    undated: int = 0
    released: tuple[dt.date, dt.date] | None = None


def _counts(column: pa.ChunkedArray) -> list[tuple[str, int]]:
    pairs = [(v["values"], v["counts"]) for v in pc.value_counts(column).to_pylist()
             if v["values"] is not None]
    return sorted(pairs, key=lambda p: (-p[1], p[0]))


def _range(first: pa.ChunkedArray, last: pa.ChunkedArray) -> tuple[dt.date, dt.date] | None:
    low, high = pc.min(first).as_py(), pc.max(last).as_py()
    return None if low is None else (low, high)


def contents(genomes: pa.Table) -> Contents:
    """The `Contents` of a ``genomes`` table (at least the `COLUMNS`)."""
    return Contents(
        genomes=genomes.num_rows,
        viruses=_counts(genomes.column("virus_name")),
        hosts=_counts(genomes.column("host_name")),
        countries=_counts(genomes.column("geo_country")),
        collected=_range(genomes.column("collection_date_start"),
                         genomes.column("collection_date_end")),
        undated=genomes.column("collection_date_start").null_count,
        released=_range(genomes.column("release_date"), genomes.column("release_date")),
    )


def _names(pairs: list[tuple[str, int]]) -> str:
    if not pairs:
        return "none given"
    shown = ", ".join(f"{name} ({n:,})" for name, n in pairs[:SHOWN])
    rest = len(pairs) - SHOWN
    return f"{len(pairs):,}: {shown}" + (f" and {rest:,} more" if rest > 0 else "")


def format_contents(c: Contents) -> str:
    """`Contents` as the lines `vpkg info` prints."""
    collected = (f"{c.collected[0]} to {c.collected[1]} (no date: {c.undated:,})"
                 if c.collected else "no collection dates")
    released = f"{c.released[0]} to {c.released[1]}" if c.released else "no release dates"
    return "\n".join([
        f"viruses     {_names(c.viruses)}",
        f"hosts       {_names(c.hosts)}",
        f"countries   {_names(c.countries)}",
        f"collected   {collected}",
        f"released    {released}",
    ])
