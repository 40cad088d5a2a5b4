"""DuckDB views over one or several packages: each table is the UNION ALL of the packages'.

This is the one place where several packages become one set of tables, for `vpkg sql`,
`vpkg export` and `vpkg tsv`. With one package the views are its tables exactly; with
several, every view starts with a ``package_file`` column (the package's file name; the
path as given when two names are equal) and holds the rows of every package that has the
table, package after package, each in file order. (The column is not called ``package``:
`biosamples` already has a ``package`` column, the BioSample package.)

The views are built from the packages' sources (`vpkg.sources.Source`, one mapping of table
to source per package: `vpkg.package.views_of` makes them); every view streams its sources
at each scan, and nothing is copied up front.
Beside each public view ``<table>`` there is an internal one, ``__vpkg_ord_<table>``, with
two more leading columns, ``__vpkg_pkg`` and ``__vpkg_ord`` (package index and row number),
so that a query joining tables can restore file order (`ORDER_COLUMNS`).

>>> import vpkg
>>> from vpkg.package import views_of
>>> views = views_of([vpkg.open_package("fixtures/real/Rotavirus_J.zip"),
...                   vpkg.open_package("fixtures/real/Hantavirus_Z10.zip")])
>>> views.con.sql("SELECT package_file, count(*) FROM genomes GROUP BY ALL ORDER BY 1").fetchall()
[('Hantavirus_Z10.zip', 9), ('Rotavirus_J.zip', 32)]
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from vpkg.container import is_duckdb_file
from vpkg.errors import ParameterError, VpkgError
from vpkg.schema import schema
from vpkg.sinks.duckdb_common import duckdb_message, quote, reraise
from vpkg.sources import BATCH_SIZE
from vpkg.tables import TABLES

if TYPE_CHECKING:  # pragma: no cover
    import duckdb
    import pyarrow as pa

    from vpkg.sinks.duckdb import QueryResult
    from vpkg.sources import Source

#: The column naming the package, present when the views cover several packages.
PACKAGE_COLUMN = "package_file"
#: The leading columns of the internal ordered views: package index, row number.
ORDER_COLUMNS = ("__vpkg_pkg", "__vpkg_ord")


def ordered_name(table: str) -> str:
    """The internal view of ``table`` that also carries `ORDER_COLUMNS`."""
    return f"__vpkg_ord_{table}"


class Views:
    """Views over packages on one DuckDB connection (create them with `open_views`).

    Attributes
    ----------
    con
        The connection holding the views.
    packages
        Each package's sources (table -> `Source`), in the order given.
    tables
        The tables at least one package holds, in the usual table order.
    streams
        Every source behind the views (their errors are re-raised by `reraise`).
    labelled
        True when the views carry the `PACKAGE_COLUMN` (several packages).
    """

    def __init__(self, con: duckdb.DuckDBPyConnection,
                 packages: Sequence[Mapping[str, Source]], labels: Sequence[str]):
        self.con = con
        self.packages = [dict(p) for p in packages]
        self.labelled = len(self.packages) > 1
        #: Each package's catalog apiVersion (V1 reports print some values differently).
        self.api_versions = [next(iter(p.values())).container.api_version if p else None
                             for p in self.packages]
        self.streams: list[Source] = []
        self.tables = [t for t in TABLES if any(t in p for p in self.packages)]
        hidden = ", ".join(ORDER_COLUMNS)
        for table in self.tables:
            parts = []
            for index, sources in enumerate(self.packages):
                if table in sources:
                    stream = sources[table].with_options(ordinal=True)
                    self.streams.append(stream)
                    parts.append((index, labels[index], stream))
            # one stream, package after package: DuckDB scans it in order and never holds
            # one package's rows while it waits for another's (a UNION ALL of one scan per
            # package would, to keep the insertion order)
            con.register(ordered_name(table), ChainedStream(table, parts, self.labelled))
            con.execute(f"CREATE TEMP VIEW {quote(table)} AS "
                        f"SELECT * EXCLUDE ({hidden}) FROM {quote(ordered_name(table))}")

    def columns(self, table: str) -> list[tuple[str, str]]:
        """(name, DuckDB type) of every column of the view ``table``, read at run time."""
        self.require(table)
        return [(row[0], row[1]) for row in
                self.con.execute(f"DESCRIBE SELECT * FROM {quote(table)}").fetchall()]

    def require(self, table: str) -> None:
        """Raise a one-line error when no package holds ``table``."""
        if table in self.tables:
            return
        known = ", ".join(self.tables) or "none"
        if table not in TABLES:
            raise ParameterError(
                f"table {table!r} does not exist; the tables are {', '.join(TABLES)}",
                parameter="tables")
        member = TABLES[table].file_name
        raise ParameterError(
            f"table {table!r}: no package given has its member {member} (the tables "
            f"here: {known})", parameter="tables")

    def execute(self, sql: str, doing: str = "the query failed"):
        """Run ``sql``; DuckDB's error (or a package's own) as one vpkg error line."""
        import duckdb

        try:
            return self.con.execute(sql)
        except duckdb.Error as exc:
            reraise(exc, self.streams, doing)

    def reader(self, sql: str, batch_rows: int = BATCH_SIZE,
               doing: str = "the query failed") -> pa.RecordBatchReader:
        """The rows of ``sql`` as a streaming Arrow reader; an error while reading is raised
        as the package's own error or DuckDB's message in one line (as by `execute`)."""
        import duckdb
        import pyarrow as pa

        try:  # a relation streams; a DB-API result would copy every row first
            source = self.con.sql(sql).to_arrow_reader(batch_rows)
        except duckdb.Error as exc:
            reraise(exc, self.streams, doing)

        def batches():
            try:
                yield from source
            except Exception as exc:  # DuckDB passes a package's error on as text
                reraise(exc, self.streams, doing, query=False)

        return pa.RecordBatchReader.from_batches(source.schema, batches())

    @contextlib.contextmanager
    def reading(self, doing: str):
        """Around the consumption of `reader`: a package's error raised inside a stream that
        pyarrow passed on as an ``ArrowInvalid`` is raised as itself (as by `reraise`)."""
        try:
            yield
        except VpkgError:
            raise
        except Exception as exc:
            reraise(exc, self.streams, doing, query=False)

    def close(self) -> None:
        self.con.close()


class ChainedStream:
    """One table of several packages as one re-readable Arrow stream, package after package.

    Its columns: ``__vpkg_pkg`` (the package's index), ``__vpkg_ord`` (the row's position in
    its member), ``package_file`` when ``labelled``, then the table's own columns.
    """

    def __init__(self, table: str, parts: list[tuple[int, str, Source]], labelled: bool):
        import pyarrow as pa

        self.table = table
        self.parts = parts
        self.labelled = labelled
        fields = [pa.field(ORDER_COLUMNS[0], pa.int32(), False),
                  pa.field(ORDER_COLUMNS[1], pa.int64(), False)]
        if labelled:
            fields.append(pa.field(PACKAGE_COLUMN, pa.string(), False))
        self.schema = pa.schema(fields + list(schema(table)))

    def __arrow_c_schema__(self) -> object:
        return self.schema.__arrow_c_schema__()

    def __arrow_c_stream__(self, requested_schema: object | None = None) -> object:
        import pyarrow as pa

        reader = pa.RecordBatchReader.from_batches(self.schema, self._batches())
        return reader.__arrow_c_stream__(requested_schema)

    def _batches(self):
        import pyarrow as pa

        for index, label, stream in self.parts:
            for batch in pa.RecordBatchReader.from_stream(stream):
                rows = batch.num_rows
                lead = [pa.array([index] * rows, pa.int32()), batch.column(0)]
                if self.labelled:
                    lead.append(pa.array([label] * rows, pa.string()))
                yield pa.RecordBatch.from_arrays([*lead, *batch.columns[1:]],
                                                 schema=self.schema)


def open_views(
    packages: Sequence[Mapping[str, Source]],
    labels: Sequence[str],
    con: duckdb.DuckDBPyConnection | None = None,
) -> Views:
    """One view per table over the packages' sources (see the module docstring).

    Parameters
    ----------
    packages
        Per package, table -> its source (at least one package).
    labels
        Per package, the value of the `PACKAGE_COLUMN` (see `labels`).
    con
        The connection to add the views to (default: a new in-memory one).
    """
    import duckdb

    if not packages:
        raise ParameterError("no package given; name at least one package", "packages")
    con = con if con is not None else duckdb.connect()
    con.execute("SET enable_progress_bar = false")  # it would print on the terminal
    return Views(con, packages, labels)


def query(views: Views, sql: str) -> QueryResult:
    """Run ``sql`` on ``views``; its rows, to fetch (errors as by `Views.execute`)."""
    from vpkg.sinks.duckdb import QueryResult

    return QueryResult(views.execute(sql), views.streams)


def is_warehouse(path: str | os.PathLike) -> bool:
    """True for a DuckDB database file: a ``.duckdb`` name, or DuckDB's magic bytes."""
    return Path(path).suffix.lower() == ".duckdb" or is_duckdb_file(path)


def query_warehouse(path: str | os.PathLike, sql: str) -> QueryResult:
    """Run ``sql`` on a DuckDB database file opened read-only, with its own tables."""
    import duckdb

    from vpkg.sinks.duckdb import QueryResult

    if not Path(path).is_file():
        raise ParameterError(f"{path}: no such DuckDB file; give the file `vpkg load --db` "
                             "wrote", parameter="path")
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as exc:
        raise ParameterError(f"{path}: cannot open as a DuckDB database (read-only): "
                             f"{duckdb_message(exc)}", parameter="path") from None
    try:
        return QueryResult(con.execute(sql), [])
    except duckdb.Error as exc:
        reraise(exc, [], "the query failed")


def labels(paths: Sequence[os.PathLike]) -> list[str]:
    """Each package's file name; the path as given for names that occur twice."""
    names = [Path(p).name for p in paths]
    return [n if names.count(n) == 1 else str(p) for n, p in zip(names, paths, strict=True)]


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
