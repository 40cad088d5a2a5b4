"""Package tables as Arrow streams DuckDB can scan, and DuckDB errors as vpkg errors.

>>> import duckdb, vpkg
>>> pkg = vpkg.open_package("fixtures/real/Rotavirus_J.zip")
>>> con = duckdb.connect()
>>> _ = con.register("g", TableStream(pkg, "genomes"))
>>> con.sql("SELECT count(*) FROM g").fetchall() == con.sql("SELECT count(*) FROM g").fetchall()
True
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, NoReturn

import pyarrow as pa

from vpkg.errors import ParameterError, VpkgError
from vpkg.schema import schema
from vpkg.sinks import BATCH_SIZE, table_reader

if TYPE_CHECKING:  # pragma: no cover
    from vpkg.package import Package

#: The column `TableStream` adds with ``ordinal=True``: the row's position in the member.
ORDINAL = "_ord"


class TableStream:
    """One table of a package as a re-readable Arrow stream (the PyCapsule interface).

    Every ``__arrow_c_stream__`` call opens a new reader on the package, so DuckDB can scan a
    view of it any number of times. The last `VpkgError` a scan raised is kept in ``error``,
    since DuckDB passes it on only as text.

    Parameters
    ----------
    pkg, table
        The package and the table to stream.
    batch_size
        Rows per batch.
    ordinal
        Add a first column ``_ord`` (int64): the row's position in file order, from 0.
    bar
        A progress bar the bytes read are reported to.
    """

    def __init__(
        self,
        pkg: Package,
        table: str,
        batch_size: int = BATCH_SIZE,
        *,
        ordinal: bool = False,
        bar: Any = None,
    ):
        pkg.member_for(table)  # raises now if the package lacks the table
        self.package = pkg
        self.table = table
        self.batch_size = batch_size
        self.ordinal = ordinal
        self.bar = bar
        base = schema(table)
        self.schema = base.insert(0, pa.field(ORDINAL, pa.int64(), False)) if ordinal else base
        self.error: VpkgError | None = None
        self.rows = 0  # rows of the last scan

    def __arrow_c_schema__(self) -> object:
        return self.schema.__arrow_c_schema__()

    def __arrow_c_stream__(self, requested_schema: object | None = None) -> object:
        reader = table_reader(self.package, self.table, self.batch_size, self.bar)
        batches = pa.RecordBatchReader.from_batches(self.schema, self._batches(reader))
        return batches.__arrow_c_stream__(requested_schema)

    def _batches(self, reader: pa.RecordBatchReader) -> Iterator[pa.RecordBatch]:
        position = self.rows = 0
        try:
            for batch in reader:
                self.rows += batch.num_rows
                if self.ordinal:
                    ordinals = pa.array(range(position, position + batch.num_rows), pa.int64())
                    position += batch.num_rows
                    batch = pa.RecordBatch.from_arrays(
                        [ordinals, *batch.columns], schema=self.schema
                    )
                yield batch
        except VpkgError as exc:
            self.error = exc
            raise
        finally:
            reader.close()


def reraise(
    exc: BaseException, streams: Sequence[TableStream], doing: str, query: bool = True
) -> NoReturn:
    """Raise the VpkgError a stream hit during ``exc``; else DuckDB's message, starting with
    ``doing``, as a `ParameterError` (``query=True``: the user's SQL was at fault) or a
    `VpkgError`; anything else unchanged.
    """
    import duckdb

    for stream in streams:
        if stream.error is not None:
            raise stream.error from None
    if not isinstance(exc, duckdb.Error):
        raise exc
    message = f"{doing}: {duckdb_message(exc)}"
    if not query:
        raise VpkgError(message) from None
    if isinstance(exc, duckdb.CatalogException) and streams:
        names = dict.fromkeys(s.table for s in streams)  # one name per table of many packages
        message += f" (the views of this package: {', '.join(names)})"
    raise ParameterError(message, parameter="query") from None


def duckdb_message(exc: BaseException) -> str:
    """DuckDB's error message on one line (the ``LINE 1:`` excerpt and its caret dropped).

    >>> duckdb_message(Exception('Parser Error: syntax error at or near "x"\\n\\nLINE 1: x\\n ^'))
    'Parser Error: syntax error at or near "x"'
    """
    lines = [line.strip() for line in str(exc).splitlines()]
    kept = [ln for ln in lines if ln and not ln.startswith("LINE ") and set(ln) != {"^"}]
    return " ".join(kept)


def quote(name: str) -> str:
    """A SQL identifier, double-quoted.

    >>> quote('a"b')
    '"a""b"'
    """
    return '"' + name.replace('"', '""') + '"'
