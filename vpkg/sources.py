"""One lazy source per table: its Arrow schema, its record batches, the Arrow stream protocol.

A `Source` reads nothing until it is iterated. Every ``batches()`` call, and every
``__arrow_c_stream__`` call (the Arrow PyCapsule interface), opens the member anew, so DuckDB
can scan a view of it any number of times, and ``pyarrow.table(source)``,
``polars.from_arrow(...)`` or ``duckdb.sql("FROM source")`` take it directly. Sinks take
sources, never the package.

>>> import pyarrow as pa, vpkg
>>> src = vpkg.open_package("fixtures/real/Rotavirus_J.zip").source("genomes")
>>> src.schema.field("accession").type, pa.table(src).num_rows
(DataType(string), 32)
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable, Iterator
from functools import cache
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from vpkg.container import READ_ERRORS
from vpkg.errors import IntegrityError, ParameterError, VpkgError
from vpkg.schema import schema
from vpkg.tables import spec

if TYPE_CHECKING:  # pragma: no cover
    from tqdm import tqdm

    from vpkg.container import Container

#: Rows per batch by default (the FASTA readers also cap a batch at 8 MiB of sequence).
BATCH_SIZE = 65536
#: The column ``ordinal=True`` adds first: the row's position in the member, from 0.
ORDINAL = "_ord"


@dataclasses.dataclass
class Source:
    """One table of a package, read lazily. Create it with ``pkg.source(table)``.

    Parameters
    ----------
    container
        The package's files (`vpkg.container.Container`).
    table
        The table name (see `vpkg.tables`).
    batch_size
        Most rows per batch.
    progress
        A tqdm bar the member's bytes are reported to as they are read (None: none).
    ordinal
        Add a first column ``_ord`` (int64): the row's position in file order.
    """

    container: Container
    table: str
    batch_size: int = BATCH_SIZE
    progress: tqdm | None = None
    ordinal: bool = False
    #: The last `VpkgError` a scan raised (DuckDB passes errors on only as text).
    error: VpkgError | None = dataclasses.field(default=None, init=False, repr=False)
    #: Rows of the last complete or partial scan.
    rows: int = dataclasses.field(default=0, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise ParameterError("batch_size must be a positive number of rows", "batch_size")
        self.member = self.container.member_for(self.table)  # raises when the member is absent

    def with_options(self, **options: Any) -> Source:
        """A copy with other options (``batch_size``, ``progress``, ``ordinal``)."""
        return dataclasses.replace(self, **options)

    @property
    def schema(self) -> pa.Schema:
        """The table's fixed Arrow schema (with ``_ord`` first when ``ordinal``)."""
        base = schema(self.table)
        return base.insert(0, pa.field(ORDINAL, pa.int64(), False)) if self.ordinal else base

    @property
    def size(self) -> int:
        """Bytes of the member (uncompressed), for progress totals."""
        return self.container.member_size(self.member)

    @property
    def where(self) -> str:
        """``<package>: <member>``, as error messages name it."""
        return f"{self.container.path}: {self.member}"

    def batches(self, batch_size: int | None = None) -> Iterator[pa.RecordBatch]:
        """The table's record batches in file order, reading the member from its start."""
        size = self.batch_size if batch_size is None else batch_size
        if size < 1:
            raise ParameterError("batch_size must be a positive number of rows", "batch_size")
        produce = _reader(self.table)
        self.rows = position = 0
        try:
            with self.container.open_member(self.member) as raw:
                stream = self._counted(raw)
                try:
                    for batch in produce(stream, self.where, size):
                        if self.ordinal:
                            batch = self._with_ordinal(batch, position)
                        position += batch.num_rows
                        self.rows = position
                        yield batch
                except READ_ERRORS as exc:
                    raise IntegrityError(
                        f"{self.where} is corrupt ({exc}); download the package again",
                        member=self.member,
                    ) from exc
                self._finished()
        except VpkgError as exc:
            self.error = exc
            raise

    def reader(self, batch_size: int | None = None) -> pa.RecordBatchReader:
        """A streaming `pyarrow.RecordBatchReader` over a fresh scan."""
        return pa.RecordBatchReader.from_batches(self.schema, self.batches(batch_size))

    def read_all(self) -> pa.Table:
        """The whole table in memory."""
        return self.reader().read_all()

    def __arrow_c_schema__(self) -> object:
        return self.schema.__arrow_c_schema__()

    def __arrow_c_stream__(self, requested_schema: object | None = None) -> object:
        return self.reader().__arrow_c_stream__(requested_schema)

    # ---- internals ---------------------------------------------------------------------------
    def _counted(self, raw):
        if self.progress is None:
            return raw
        self.progress.set_description(
            f"{self.container.path.name}: {self.member.rsplit('/', 1)[-1]}", refresh=False
        )
        self._reported = 0
        return _counting_reader(self._report, raw)

    def _report(self, n: int) -> None:
        self._reported += n
        self.progress.update(n)

    def _finished(self) -> None:
        """Bring the bar to the member's end (readers may stop before the last bytes)."""
        if self.progress is not None and self.size > self._reported:
            self.progress.update(self.size - self._reported)

    def _with_ordinal(self, batch: pa.RecordBatch, start: int) -> pa.RecordBatch:
        import numpy as np

        from vpkg.readers.arrays import ints  # pa.array(range(...)) imports pandas

        ordinals = ints(np.arange(start, start + batch.num_rows, dtype=np.int64))
        return pa.RecordBatch.from_arrays([ordinals, *batch.columns], schema=self.schema)


def _counting_reader(callback: Callable[[int], None], stream):
    """tqdm's `CallbackIOWrapper` reports ``read()`` only; the readers also call ``read1()``
    (zero-copy chunks of a zip member) and ``readline()``, which are counted the same way.
    (tqdm is imported here, with a bar, not by every read.)"""
    from tqdm.utils import CallbackIOWrapper

    wrapper = CallbackIOWrapper(callback, stream, "read")
    for name in ("read1", "readline"):
        method = getattr(stream, name, None)
        if method is not None:
            wrapper.wrapper_setattr(name, _counting(method, callback))
    return wrapper


def _counting(method: Callable[..., bytes], callback: Callable[[int], None]):
    def counted(*args: Any) -> bytes:
        data = method(*args)
        callback(len(data))
        return data

    return counted


@cache
def _reader(table: str) -> Callable[..., Iterator[pa.RecordBatch]]:
    """The reader function the registry names for ``table`` (imported on first use)."""
    module, _, name = spec(table).reader.partition(":")
    return getattr(importlib.import_module(module), name)
