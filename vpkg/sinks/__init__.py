"""Where package tables go: DuckDB views (`duckdb`), Parquet files (`parquet`), a persistent
DuckDB warehouse (`warehouse`), and text for the terminal (`text`).

Every sink reads tables through `table_reader`, so that each one streams in bounded batches
and can report the bytes it reads to a progress bar.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa

    from vpkg.package import Package

#: Rows per Arrow batch read from a package (sequence batches are also capped at 64 MiB).
BATCH_SIZE = 65536


def table_reader(
    pkg: Package, table: str, batch_size: int = BATCH_SIZE, bar: Any = None
) -> pa.RecordBatchReader:
    """A fresh streaming reader of ``table``; with ``bar``, bytes read are reported to it."""
    if bar is None or not hasattr(pkg, "open_member"):  # no members: staged (vpkg.parallel)
        return pkg.reader(table, batch_size=batch_size)
    from vpkg.progress import CountingPackage
    from vpkg.readers import open_reader

    if batch_size < 1:
        from vpkg.errors import ParameterError

        raise ParameterError("batch_size must be a positive number of rows", "batch_size")
    return open_reader(table, CountingPackage(pkg, bar), pkg.member_for(table), batch_size)
