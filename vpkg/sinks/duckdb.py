"""DuckDB views over table sources: SQL on genomes, sequences, annotations and BioSamples.

Each source becomes a view: a `vpkg.sources.Source` exports the Arrow PyCapsule stream
interface, and DuckDB asks it for a fresh stream at every scan, so every query that reads a
view re-reads and re-parses the member in bounded batches (twice for a self-join). Nothing is
copied up front and memory stays at about one batch per scan, but each query pays the parse.
For many queries on a large package pass ``materialize=True``: each table is then read once
into a DuckDB temp table (which DuckDB can spill to disk) and later queries run at DuckDB
speed, with projection and filter pushdown.

>>> import vpkg
>>> con = vpkg.open_package("fixtures/real/Rotavirus_J.zip").to_duckdb()
>>> con.sql("SELECT count(*) FROM genomes JOIN genome_sequences USING (accession)").fetchall()
[(32,)]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from vpkg.errors import ParameterError
from vpkg.sinks.duckdb_common import quote, reraise

if TYPE_CHECKING:  # pragma: no cover
    import duckdb

    from vpkg.sources import Source

__all__ = ["QueryResult", "connect", "query", "register_views"]


def register_views(
    sources: Sequence[Source],
    con: duckdb.DuckDBPyConnection,
    *,
    prefix: str = "",
    materialize: bool = False,
) -> list[Source]:
    """Add one view per source to ``con``, named ``prefix + table``; return the sources.

    Parameters
    ----------
    sources
        The tables to expose (``pkg.source(table)`` each).
    con
        The connection. The views are temporary: they live in this connection only and are
        never stored in a database file.
    prefix
        Put before every view name, to query several packages on one connection.
    materialize
        Read each table once into a DuckDB temp table instead of streaming it at every query.

    Raises
    ------
    ParameterError
        When a name is already taken on ``con`` (choose a ``prefix``).
    """
    streams = list(sources)
    taken = _names(con) & {prefix + s.table for s in streams}
    if taken:
        raise ParameterError(
            f"the DuckDB connection already has a table or view named "
            f"{', '.join(sorted(taken))}; pass prefix='...' to name this package's views "
            "differently",
            parameter="prefix",
        )
    for stream in streams:
        name = prefix + stream.table
        if not materialize:
            con.register(name, stream)
            continue
        staging = f"__vpkg_stream_{name}"
        con.register(staging, stream)
        try:
            con.execute(f"CREATE TEMP TABLE {quote(name)} AS SELECT * FROM {quote(staging)}")
        except Exception as exc:
            reraise(exc, streams, f"reading {stream.table} into DuckDB failed")
        finally:
            con.unregister(staging)
    return streams


class QueryResult:
    """The rows of a query on the views of some sources, fetched as DuckDB streams them.

    Reading a member can still fail while rows are fetched; the package's error is then
    raised, as by `query`.
    """

    def __init__(self, cursor: duckdb.DuckDBPyConnection, streams: list[Source]):
        self._cursor = cursor
        self._streams = streams

    @property
    def description(self) -> list[tuple] | None:
        """DB-API column descriptions: ``(name, type, ...)`` per column, None without rows."""
        return self._cursor.description

    def fetchmany(self, size: int = 1000) -> list[tuple]:
        """Up to ``size`` more rows; an empty list at the end."""
        return self._fetch(self._cursor.fetchmany, size)

    def fetchall(self) -> list[tuple]:
        """Every remaining row."""
        return self._fetch(self._cursor.fetchall)

    def _fetch(self, method, *args) -> list[tuple]:
        import duckdb

        try:
            return method(*args)
        except duckdb.Error as exc:
            reraise(exc, self._streams, "the query failed")


def query(
    sources: Sequence[Source], sql: str, con: duckdb.DuckDBPyConnection | None = None
) -> QueryResult:
    """Run ``sql`` on one view per source; return its rows, to fetch.

    Raises
    ------
    ParameterError
        When DuckDB rejects the query; the message is DuckDB's, on one line.
    VpkgError
        The package's own error when reading a member failed during the query (also while
        fetching rows).

    Examples
    --------
    >>> import vpkg
    >>> pkg = vpkg.open_package("fixtures/real/Rotavirus_J.zip")
    >>> query(pkg.sources(), "SELECT count(*) FROM genome_sequences").fetchall()
    [(32,)]
    """
    import duckdb

    con = con if con is not None else connect()
    streams = register_views(sources, con)
    try:
        return QueryResult(con.execute(sql), streams)
    except duckdb.Error as exc:
        reraise(exc, streams, "the query failed")


def connect() -> duckdb.DuckDBPyConnection:
    """A new in-memory DuckDB connection."""
    import duckdb

    return duckdb.connect()


def _names(con: duckdb.DuckDBPyConnection) -> set[str]:
    """Tables and views a bare name can refer to on ``con`` (current database and temp)."""
    rows = con.execute(
        "SELECT table_name FROM information_schema.tables "
        "WHERE table_schema = 'main' AND table_catalog IN (current_database(), 'temp')"
    ).fetchall()
    return {row[0] for row in rows}
