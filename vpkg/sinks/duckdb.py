"""DuckDB views over a package: SQL on genomes, sequences, annotations and BioSamples.

Each table the package holds becomes a view backed by a `TableStream`, an object exporting
the Arrow PyCapsule stream interface: DuckDB asks it for a fresh stream at every scan, so
every query that reads a view re-reads and re-parses the member in bounded batches (twice
for a self-join). Nothing is copied up front and memory stays at about one batch per scan,
but each query pays the parse. For many queries on a large package pass
``materialize=True``: each table is then read once into a DuckDB temp table (which DuckDB
can spill to disk) and later queries run at DuckDB speed, with projection and filter
pushdown.

>>> import vpkg
>>> con = vpkg.open_package("fixtures/real/Rotavirus_J.zip").to_duckdb()
>>> con.sql("SELECT count(*) FROM genomes JOIN genome_sequences USING (accession)").fetchall()
[(32,)]

`vpkg.load`, the persistent warehouse, lives in `vpkg.sinks.warehouse`; it is re-exported
here.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from vpkg.errors import ParameterError
from vpkg.sinks import BATCH_SIZE
from vpkg.sinks.streams import TableStream, quote, reraise
from vpkg.sinks.warehouse import load

if TYPE_CHECKING:  # pragma: no cover
    import duckdb

    from vpkg.package import Package

__all__ = ["QueryResult", "TableStream", "load", "package_to_duckdb", "query",
           "register_views"]


def package_to_duckdb(
    pkg: Package,
    con: duckdb.DuckDBPyConnection | None = None,
    *,
    tables: Iterable[str] | None = None,
    prefix: str = "",
    materialize: bool = False,
    batch_size: int = BATCH_SIZE,
) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with one view per table of ``pkg``, named ``prefix + table``.

    Parameters
    ----------
    pkg
        An open package.
    con
        A connection to add the views to; a new in-memory one by default. The views are
        temporary: they live in this connection only and are never stored in a database file.
    tables
        The tables to expose (default: every table the package holds).
    prefix
        Put before every view name, to query several packages on one connection.
    materialize
        Read each table once into a DuckDB temp table instead of streaming it at every query.
    batch_size
        Rows per Arrow batch read from the package.

    Returns
    -------
    duckdb.DuckDBPyConnection
        ``con``, or the new connection.

    Raises
    ------
    ParameterError
        When a name is already taken on ``con`` (choose a ``prefix``).
    MemberNotFoundError
        When a table asked for in ``tables`` is not in the package.

    Examples
    --------
    >>> import vpkg
    >>> pkg = vpkg.open_package("fixtures/real/Hantavirus_Z10.zip")
    >>> con = pkg.to_duckdb(prefix="hanta_")
    >>> con.sql("SELECT count(*) FROM hanta_genomes").fetchall()
    [(9,)]
    """
    con = con if con is not None else _connect()
    register_views(pkg, con, tables=tables, prefix=prefix, materialize=materialize,
                   batch_size=batch_size)
    return con


def register_views(
    pkg: Package,
    con: duckdb.DuckDBPyConnection,
    *,
    tables: Iterable[str] | None = None,
    prefix: str = "",
    materialize: bool = False,
    batch_size: int = BATCH_SIZE,
) -> list[TableStream]:
    """Add the views of ``pkg`` to ``con``; return their streams (see `package_to_duckdb`)."""
    chosen = list(pkg.tables() if tables is None else tables)
    streams = [TableStream(pkg, t, batch_size) for t in chosen]
    taken = _names(con) & {prefix + t for t in chosen}
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
    """The rows of a query on a package's views, fetched as DuckDB streams them.

    Reading a member can still fail while rows are fetched; the package's error is then
    raised, as by `query`.
    """

    def __init__(self, cursor: duckdb.DuckDBPyConnection, streams: list[TableStream]):
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
    pkg: Package, sql: str, con: duckdb.DuckDBPyConnection | None = None
) -> QueryResult:
    """Run ``sql`` on the views of ``pkg``; return its rows, to fetch.

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
    >>> query(pkg, "SELECT count(*) FROM genome_sequences").fetchall()
    [(32,)]
    """
    import duckdb

    con = con if con is not None else _connect()
    streams = register_views(pkg, con)
    try:
        return QueryResult(con.execute(sql), streams)
    except duckdb.Error as exc:
        reraise(exc, streams, "the query failed")


def _connect() -> duckdb.DuckDBPyConnection:
    import duckdb

    return duckdb.connect()


def _names(con: duckdb.DuckDBPyConnection) -> set[str]:
    """Tables and views a bare name can refer to on ``con`` (current database and temp)."""
    rows = con.execute(
        "SELECT table_name FROM information_schema.tables "
        "WHERE table_schema = 'main' AND table_catalog IN (current_database(), 'temp')"
    ).fetchall()
    return {row[0] for row in rows}
