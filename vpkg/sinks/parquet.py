"""Parquet exports: one ``<table>.parquet`` per table, or a Hive-style dataset per table.

Files are written in a streaming way with bounded memory: batches are gathered into row
groups of about `ROW_GROUP_BYTES` (8 MiB of Arrow data, at most `ROW_GROUP_ROWS` rows),
compressed with zstd. The ``sequence`` column has neither dictionary encoding nor min/max
statistics (values of megabytes would bloat every footer); values inside lists (lineage
entries, submitter names) have no statistics (no reader skips a row group by them). Every
file carries key-value metadata naming its source: ``vpkg.package_file``,
``vpkg.package_md5``, ``vpkg.api_version``, ``vpkg.version``, ``vpkg.table`` and
``vpkg.member``.

Nothing appears half-written: all tables are written under a hidden temporary folder inside
the output folder (``.vpkg-export-*``), then each is renamed into place; on an error the
temporary folder is removed and earlier outputs stay as they were. File names come from the
table names only, never from the package; partition values are percent-encoded.

>>> import tempfile, vpkg
>>> out = tempfile.mkdtemp()
>>> done = vpkg.open_package("fixtures/real/Rotavirus_J.zip").to_parquet(out)
>>> [(d.table, d.path.name, d.rows) for d in done]
[('genomes', 'genomes.parquet', 32), ('genome_sequences', 'genome_sequences.parquet', 32)]
"""

from __future__ import annotations

import io
import itertools
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from vpkg.errors import ParameterError, VpkgError
from vpkg.readers.arrays import empty_table
from vpkg.schema import schema
from vpkg.tables import GENOME_KEYED

if TYPE_CHECKING:  # pragma: no cover
    from vpkg.sources import Source

#: 8 MiB: an export of a 700 MB package writing its two tables at once stays under 400 MB
#: of memory (16 MiB: about 405, 32 MiB: about 480).
ROW_GROUP_BYTES = 8 << 20
ROW_GROUP_ROWS = 1 << 20
#: Columns written without dictionary encoding and without statistics.
PLAIN_COLUMNS = ("sequence",)
#: The year of ``collection_date``: a column of ``genomes``; tables that have a
#: ``collection_date`` of their own (``biosamples``) get it computed from theirs.
COLLECTION_YEAR = "collection_year"
#: The folder of null partition values: ``<column>-__null__``.
NULL_FOLDER = "__null__"
#: Tables written at once when each is one file (see `_write_files_at_once`).
TABLE_THREADS = 2
#: Partitioned writes keep at most this many files open (more partitions start new files).
MAX_OPEN_FILES = 64


@dataclass(frozen=True)
class Exported:
    """One table written: its file (or dataset folder), row count and partition column.

    It is path-like: ``Path(exported)`` and ``pq.read_table(exported)`` use ``path``.
    """

    table: str
    path: Path
    rows: int
    partition_by: str | None = None

    def __fspath__(self) -> str:
        return os.fspath(self.path)


def write_parquet(
    sources: Sequence[Source],
    outdir: str | os.PathLike,
    *,
    metadata: dict[str, str] | None = None,
    genomes: Source | None = None,
    partition_by: str | None = None,
    compression_level: int | None = None,
    row_group_bytes: int = ROW_GROUP_BYTES,
    row_group_rows: int = ROW_GROUP_ROWS,
    before_publish: Callable[[], object] | None = None,
) -> list[Exported]:
    """Write each source as Parquet under ``outdir``: ``<table>.parquet``, or a dataset.

    Parameters
    ----------
    sources
        The tables to write (``pkg.source(table)`` each), in the order to write them.
    outdir
        The output folder (created when missing). Existing outputs of the same tables are
        replaced, each in one rename.
    metadata
        Key-value metadata for every file (`vpkg.container.integrity.provenance`); each
        file also gets ``vpkg.table`` and ``vpkg.member``.
    genomes
        The package's ``genomes`` source, for tables that take a partition value from their
        genome (None: such tables are written as one file).
    partition_by
        A column to partition by, e.g. ``"collection_year"`` or ``"virus_tax_id"``. Each
        table holding that column is written as a dataset
        ``<table>/<column>-<value>/part-<n>.parquet`` whose files all hold the column
        (null values go to ``<column>-__null__``), so pandas, polars, pyarrow, DuckDB and
        Spark read the folder as one table without a partitioning scheme; sequence and
        annotation tables take the value of their genome (by ``accession``); a table that
        can have no value (``protein_sequences``; ``biosamples`` for a genome column) is
        written as one file.
    compression_level
        zstd level, 1 to 22 (default: the library's, 1); others raise `ParameterError`.
    row_group_bytes, row_group_rows
        Target size of a row group: Arrow bytes, and at most this many rows.
    before_publish
        Called when every table is written to the staging folder, before any is moved
        into place: when it raises, nothing is published (the package's integrity checks
        made while reading, `vpkg.container.checked`).

    Returns
    -------
    list[Exported]
        One entry per table written, in the order of ``sources``.

    Examples
    --------
    >>> import tempfile, vpkg, pyarrow.dataset as ds
    >>> pkg = vpkg.open_package("fixtures/real/Rotavirus_J.zip")
    >>> out = tempfile.mkdtemp()
    >>> done = pkg.to_parquet(out, partition_by="collection_year")
    >>> ds.dataset(done[0].path).count_rows()
    32
    """
    check_compression_level(compression_level)
    if row_group_bytes < 1 or row_group_rows < 1:
        raise ParameterError("row group sizes must be positive", parameter="row_group_bytes")
    plan = {s.table: _partition_plan(s.table, partition_by, genomes) for s in sources}
    if partition_by and not any(plan.values()):
        raise ParameterError(
            f"partition column {partition_by!r}: none of {', '.join(plan)} has it or takes "
            f"it from its genome; use {COLLECTION_YEAR!r} or a column from docs/tables/",
            parameter="partition_by",
        )
    created = not Path(outdir).exists()
    out = output_dir(outdir)
    writer = _Writer(compression_level, row_group_bytes, row_group_rows)
    staging = Path(tempfile.mkdtemp(prefix=".vpkg-export-", dir=out))
    try:
        done = []
        lookups: dict[str, pa.Table] = {}
        if not any(plan.values()) and len(sources) > 1:  # whole files: side by side
            rows = _write_files_at_once(writer, sources, staging, metadata)
            done = [Exported(s.table, out / f"{s.table}.parquet", n)
                    for s, n in zip(sources, rows, strict=True)]
            sources = []
        for source in sources:
            table = source.table
            file_metadata = {**(metadata or {}), "vpkg.table": table,
                             "vpkg.member": source.member}
            reader = source.reader()
            part = plan[table]
            if part is None:
                target = staging / f"{table}.parquet"
                rows = writer.write_file(reader, target, file_metadata)
            else:
                if part.lookup and part.column not in lookups:
                    lookups[part.column] = _genome_values(genomes, part.column)
                batches = part.batches(reader, lookups.get(part.column))
                target = staging / table
                rows = writer.write_dataset(batches, target, file_metadata, part.column)
            done.append(Exported(table, out / target.name, rows, part and part.column))
        if before_publish is not None:
            before_publish()
        _move_into_place(staging, out, [d.path.name for d in done])
        return done
    except OSError as exc:
        raise VpkgError(
            f"{out}: cannot write the Parquet files ({exc.strerror or exc}); check the "
            "folder's permissions and free space"
        ) from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if created and not any(out.iterdir()):
            out.rmdir()  # a failed export leaves no trace, not even the folder it made


#: The zstd levels Parquet writers accept here.
ZSTD_LEVELS = range(1, 23)


def check_compression_level(level: int | None) -> None:
    """Refuse a zstd level outside 1..22 (None: the library's default)."""
    if level is not None and (isinstance(level, bool) or level not in ZSTD_LEVELS):
        raise ParameterError(
            f"compression level {level!r}: zstd levels are {ZSTD_LEVELS.start} to "
            f"{ZSTD_LEVELS.stop - 1} (1 fastest, 22 smallest); give one of those",
            parameter="compression_level",
        )
def _write_files_at_once(writer: _Writer, sources: Sequence[Source], staging: Path,
                         metadata: dict[str, str] | None) -> list[int]:
    """Write one file per source on `TABLE_THREADS` threads at once; the row counts.

    The readers and the Parquet writer release the GIL for most of their work, so a
    FASTA member is read and written while the report's blocks are parsed. Every write
    ends before this returns (or raises the error of the first failing source, in order).
    """
    from concurrent.futures import ThreadPoolExecutor

    def write(source: Source) -> int:
        file_metadata = {**(metadata or {}), "vpkg.table": source.table,
                         "vpkg.member": source.member}
        return writer.write_file(source.reader(), staging / f"{source.table}.parquet",
                                 file_metadata)

    with ThreadPoolExecutor(TABLE_THREADS, thread_name_prefix="vpkg-export") as pool:
        futures = [pool.submit(write, source) for source in sources]
    return [future.result() for future in futures]


# ---- partitions ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Partition:
    """How a table gets its partition column: own column, year of a date, or its genome's."""

    column: str
    source: str | None  # the table's column the value comes from (None: looked up)
    lookup: bool = False

    def batches(
        self, reader: pa.RecordBatchReader, values: pa.Table | None
    ) -> pa.RecordBatchReader:
        """The table's batches with the partition column (added when it is not a column)."""
        base = reader.schema
        if self.source == self.column:
            return reader
        value_type = values.schema.field("value").type if values is not None else pa.int32()
        out_schema = base.append(pa.field(self.column, value_type))

        def generate() -> Iterator[pa.RecordBatch]:
            for batch in reader:
                if self.lookup:
                    keys, found = values.column(0).chunk(0), values.column(1).chunk(0)
                    column = found.take(pc.index_in(batch.column("accession"), value_set=keys))
                else:
                    column = collection_year(batch.column(self.source))
                yield pa.RecordBatch.from_arrays([*batch.columns, column], schema=out_schema)

        return pa.RecordBatchReader.from_batches(out_schema, generate())


def _partition_plan(table: str, column: str | None, genomes: Source | None) -> _Partition | None:
    if not column:
        return None
    names = schema(table).names
    if column in names:
        _check_plain(table, column)
        return _Partition(column, column)
    if column == COLLECTION_YEAR and "collection_date" in names:
        return _Partition(column, "collection_date")
    if table in GENOME_KEYED and column in schema("genomes").names and genomes is not None:
        _check_plain("genomes", column)
        return _Partition(column, None, lookup=True)
    return None


def _check_plain(table: str, column: str) -> None:
    """Refuse a list, struct or sequence column as a partition column."""
    field = schema(table).field(column)
    if pa.types.is_nested(field.type) or field.type == pa.large_string():
        raise ParameterError(
            f"partition column {column!r}: {table}.{column} is a {field.type} column; "
            "partition by a plain value such as virus_tax_id or collection_year",
            parameter="partition_by",
        )


def collection_year(dates: pa.Array) -> pa.Array:
    """The year (int32) of ``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD`` strings; null otherwise.

    >>> collection_year(pa.array(["2020-06-17", "2019", "missing", None])).to_pylist()
    [2020, 2019, None, None]
    """
    ok = pc.match_substring_regex(dates, r"^\d{4}(-|$)")
    years = pc.utf8_slice_codeunits(dates, 0, 4)
    return pc.if_else(ok, years, pa.scalar(None, pa.string())).cast(pa.int32())


def _genome_values(genomes: Source, column: str) -> pa.Table:
    """(accession, value) of every genome, for tables partitioned by a genome column."""
    accessions, values = [], []
    for batch in genomes.batches():
        accessions.append(batch.column("accession"))
        values.append(batch.column(column))
    value_type = schema("genomes").field(column).type
    return pa.table({
        "accession": pa.concat_arrays(accessions) if accessions else pa.array([], pa.string()),
        "value": pa.concat_arrays(values) if values else pa.array([], value_type),
    })


# ---- writing ---------------------------------------------------------------------------------


def write_parquet_file(
    stream: Any, path: str | os.PathLike, metadata: dict[str, str] | None = None,
    compression_level: int | None = None,
) -> int:
    """Stream an Arrow stream (``__arrow_c_stream__``) into one Parquet file with the export
    options (zstd, row groups of about 64 MiB, no dictionary nor statistics on sequence
    columns); return the row count."""
    reader = pa.RecordBatchReader.from_stream(stream)
    writer = _Writer(compression_level, ROW_GROUP_BYTES, ROW_GROUP_ROWS)
    return writer.write_file(reader, Path(path), metadata or {})


class _Writer:
    """Parquet options shared by every file of an export."""

    def __init__(self, compression_level: int | None, row_group_bytes: int, row_group_rows: int):
        self.level = compression_level
        self.group_bytes = row_group_bytes
        self.group_rows = row_group_rows

    def options(self, arrow_schema: pa.Schema) -> dict:
        """ParquetWriter keywords: zstd, no dictionary nor statistics on sequence columns, no
        statistics on values inside lists (lineages, submitter names)."""
        encoded = [p for p in _leaf_paths(arrow_schema) if p.split(".")[0] not in PLAIN_COLUMNS]
        return {
            "compression": "zstd",
            "compression_level": self.level,
            "use_dictionary": encoded,
            # min/max of list elements filter no row group: 0.2 s of 1.1 for genomes
            "write_statistics": [p for p in encoded if ".list.element" not in p],
        }

    def write_file(self, reader: pa.RecordBatchReader, path: Path, metadata: dict) -> int:
        """Stream ``reader`` into one Parquet file; return the row count."""
        out_schema = reader.schema.with_metadata(metadata)
        rows = 0
        with pq.ParquetWriter(path, out_schema, **self.options(out_schema)) as writer:
            for group in _row_groups(reader, self.group_bytes, self.group_rows):
                writer.write_table(group, row_group_size=group.num_rows)
                rows += group.num_rows
        return rows

    def write_dataset(
        self, reader: pa.RecordBatchReader, folder: Path, metadata: dict, column: str
    ) -> int:
        """Stream ``reader`` into a dataset partitioned by ``column`` (see `write_parquet`).

        The folders are not Hive-style (``column=value``) on purpose: a Hive null folder
        makes pandas fail ("Cannot yet unify dictionaries with nulls", pyarrow infers a
        dictionary from the folder names) and an all-null one makes pyarrow fail ("No
        non-null segments"); a column kept in every file reads the same everywhere, and
        its min/max statistics still let filters skip the other files.
        """
        import pyarrow.dataset as ds

        file_schema = reader.schema.with_metadata(metadata)
        out_schema = file_schema.append(pa.field(_FOLDER, pa.string()))
        fmt = ds.ParquetFileFormat()
        options = fmt.make_write_options(**self.options(file_schema))
        partitioning = ds.partitioning(pa.schema([out_schema.field(_FOLDER)]))
        first, batches = _peek(reader)
        if first is None:  # no rows: one empty file, so that readers still see the schema
            (folder / f"{column}-{NULL_FOLDER}").mkdir(parents=True)
            pq.write_table(empty_table(file_schema),
                           folder / f"{column}-{NULL_FOLDER}" / "part-0.parquet",
                           **self.options(file_schema))
            return 0
        row_bytes = max(1, first.nbytes // max(1, first.num_rows))
        group = max(1, min(self.group_rows, self.group_bytes // row_bytes))
        rows = 0

        def counted() -> Iterator[pa.RecordBatch]:
            nonlocal rows
            for batch in batches:
                rows += batch.num_rows
                yield pa.RecordBatch.from_arrays(
                    [*batch.columns, _folder_names(column, batch.column(column))],
                    schema=out_schema)

        try:
            ds.write_dataset(
                pa.RecordBatchReader.from_batches(out_schema, counted()),
                folder,
                format=fmt,
                partitioning=partitioning,
                file_options=options,
                basename_template="part-{i}.parquet",
                preserve_order=True,
                max_open_files=MAX_OPEN_FILES,
                min_rows_per_group=group,
                max_rows_per_group=group,
                existing_data_behavior="error",
            )
        except pa.ArrowInvalid as exc:  # more partitions in one batch than allowed (1024)
            raise VpkgError(
                f"writing {metadata['vpkg.table']} partitioned by {column} failed ({exc}); "
                "choose a column with fewer distinct values"
            ) from exc
        return rows


#: The hidden column naming each row's folder (write_dataset keeps it out of the files).
_FOLDER = "__vpkg_folder"


def _folder_names(column: str, values: pa.Array) -> pa.Array:
    """``<column>-<value>`` (``<column>-__null__`` for null) of each value."""
    text = pc.fill_null(pc.cast(values, pa.string()), NULL_FOLDER)
    return pc.binary_join_element_wise(pa.scalar(f"{column}-"), text, "")


def _row_groups(
    reader: pa.RecordBatchReader, max_bytes: int, max_rows: int
) -> Iterator[pa.Table]:
    """Batches gathered into tables of at most ``max_rows`` rows and about ``max_bytes``
    (no more, unless one row alone is larger)."""
    pending: list[pa.RecordBatch] = []
    size = rows = 0
    for batch in reader:
        while batch.num_rows:
            row_bytes = max(1, batch.nbytes // batch.num_rows)
            take = min(batch.num_rows, max_rows - rows, max(1, (max_bytes - size) // row_bytes))
            part, batch = batch.slice(0, take), batch.slice(take)
            pending.append(part)
            size += take * row_bytes
            rows += take
            if rows >= max_rows or size + row_bytes > max_bytes:
                yield pa.Table.from_batches(pending, reader.schema)
                pending, size, rows = [], 0, 0
    if pending:
        yield pa.Table.from_batches(pending, reader.schema)


def _peek(reader: pa.RecordBatchReader) -> tuple[pa.RecordBatch | None, Iterator]:
    """The first non-empty batch, and an iterator over every batch (that one included)."""
    it = iter(reader)
    for batch in it:
        if batch.num_rows:
            return batch, itertools.chain([batch], it)
    return None, iter(())


def _leaf_paths(arrow_schema: pa.Schema) -> list[str]:
    """The Parquet column paths of a schema (``ranges.list.element.begin``, ...)."""
    buffer = io.BytesIO()
    pq.write_table(empty_table(arrow_schema), buffer)
    parquet_schema = pq.read_metadata(io.BytesIO(buffer.getvalue())).schema
    return [parquet_schema.column(i).path for i in range(len(parquet_schema))]


# ---- output folder ---------------------------------------------------------------------------


def output_dir(outdir: str | os.PathLike) -> Path:
    """``outdir``, created when missing; a one-line error when it cannot be a folder."""
    out = Path(outdir)
    if out.exists() and not out.is_dir():
        raise ParameterError(f"{out}: exists and is not a folder; give a folder for the output",
                             parameter="outdir")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise VpkgError(f"{out}: cannot create the output folder ({exc.strerror or exc})") from exc
    return out


def _move_into_place(staging: Path, out: Path, names: list[str]) -> None:
    """Rename each staged output into ``out``, replacing an earlier one in one rename."""
    for name in names:
        new, final = staging / name, out / name
        if final.is_dir() and not final.is_symlink():
            old = staging / f".old-{name}"
            os.replace(final, old)  # a folder cannot be replaced in one step: move it aside
            try:
                os.replace(new, final)
            except OSError:
                os.replace(old, final)
                raise
        else:
            os.replace(new, final)
