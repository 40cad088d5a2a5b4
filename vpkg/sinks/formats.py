"""`vpkg export` in every format: one file per table, from one package or many, filtered.

Each table becomes ``OUTDIR/<table>.<suffix>``: ``.parquet``, ``.tsv``, ``.csv``,
``.ndjson``, or for FASTA ``.fna`` (genome and CDS sequences) / ``.faa`` (proteins). The rows
come from the views of `vpkg.sinks.multi` (several packages give one file per table, with a
``package_file`` column) through the SELECT of `vpkg.sinks.selection` (``columns``,
``where``, ``with_sequence``). Everything streams from Arrow batches, in bounded memory.

* ``tsv``/``csv``: a header line, then the rows as `vpkg.sinks.lines` writes them (quoted
  where needed, NULL empty, nested values as JSON text).
* ``ndjson``: one JSON object per row, types kept (`vpkg.sinks.lines`).
* ``fasta``: see `vpkg.sinks.fasta`; the id and description come from columns.
* ``parquet``: as `vpkg.sinks.parquet`, with the tables' own Arrow types.

Outputs are written under a hidden temporary folder inside ``OUTDIR`` and renamed into place
when every table is complete; on an error nothing is left behind.

The package-level entry point is `vpkg.package.export` (it verifies the packages and opens
the views); `write_views` is the sink.

>>> import tempfile, vpkg
>>> from vpkg.package import export
>>> out = tempfile.mkdtemp()
>>> with vpkg.open_package("fixtures/real/Hantavirus_Z10.zip") as pkg:
...     done = export([pkg], out, "fasta", where="completeness = 'COMPLETE'")
>>> [(d.path.name, d.rows) for d in done]
[('genome_sequences.fna', 4)]
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from vpkg.errors import ParameterError, VpkgError
from vpkg.schema import schema
from vpkg.sinks.duckdb_common import quote
from vpkg.sinks.fasta import LINE_WIDTH, write_fasta
from vpkg.sinks.lines import delimited_header, delimited_sql, ndjson_sql, write_lines
from vpkg.sinks.parquet import Exported, output_dir, write_parquet_file
from vpkg.sinks.selection import select_sql
from vpkg.tables import FASTA_TABLES, TABLES

if TYPE_CHECKING:  # pragma: no cover
    from vpkg.sinks.multi import Views

FORMATS = ("parquet", "tsv", "csv", "ndjson", "fasta")
SUFFIXES = {"parquet": ".parquet", "tsv": ".tsv", "csv": ".csv", "ndjson": ".ndjson"}
#: The sequence tables: FASTA suffix, and the column that was the header's first word.
#: Rows per batch of text lines fetched from DuckDB (a few MB of text each).
LINE_ROWS = 8192
SEQUENCE_TABLES = {t: (PurePosixPath(TABLES[t].file_name).suffix, TABLES[t].key[0])
                   for t in FASTA_TABLES}


@dataclass(frozen=True)
class FastaOptions:
    """How FASTA records are built: id column (None: the header's first word, ``accession``
    or ``id``), description column (None: no description) and line width (0: one line)."""

    id_column: str | None = None
    description_column: str | None = "description"
    line_width: int = LINE_WIDTH


def check_format(fmt: str) -> None:
    """A `ParameterError` for a format that is not one of `FORMATS`."""
    if fmt not in FORMATS:
        raise ParameterError(f"--format {fmt!r}: choose one of {', '.join(FORMATS)}", "format")


def write_views(
    views: Views,
    outdir: str | os.PathLike,
    fmt: str,
    *,
    tables: Sequence[str] | None = None,
    columns: Sequence[str] | None = None,
    where: str | None = None,
    with_sequence: str | None = None,
    fasta: FastaOptions | None = None,
    compression_level: int | None = None,
    provenance: Callable[[], list[dict]] = list,
) -> list[Exported]:
    """Write tables of ``views`` under ``outdir`` as ``fmt``, one file per table.

    Parameters
    ----------
    views
        The views over one or several packages (`vpkg.sinks.multi`).
    outdir
        The output folder (created when missing); earlier files of the same names are
        replaced, each in one rename.
    fmt
        One of `FORMATS`.
    tables
        The tables to write (default: every table a package holds; for ``fasta`` every
        sequence table; with ``with_sequence`` only ``genomes``).
    columns, where, with_sequence
        The columns to keep, a DuckDB predicate, the key of the genome sequence added to
        genomes (see `vpkg.sinks.selection.select_sql`).
    fasta
        FASTA options.
    compression_level
        zstd level for Parquet.
    provenance
        Called once the selection is known to be valid, before anything is written: the
        file, md5 and apiVersion of each package, for the Parquet metadata (the caller
        verifies the packages there).

    Raises
    ------
    ParameterError
        An unknown format, table or column, a predicate DuckDB rejects, a table the format
        cannot take (FASTA of a table without sequences).
    """
    check_format(fmt)
    fasta = fasta or FastaOptions()
    chosen = _tables(views, fmt, tables, with_sequence)
    if fasta.line_width < 0:
        raise ParameterError(f"--line-width {fasta.line_width}: give 0 (one line) or more",
                             parameter="line_width")
    plans = [(t, _plan(views, t, fmt, columns, where, with_sequence, fasta)) for t in chosen]
    sources = provenance()
    created = not Path(outdir).exists()
    out = output_dir(outdir)
    staging = Path(tempfile.mkdtemp(prefix=".vpkg-export-", dir=out))
    try:
        done = []
        for table, sql in plans:
            name = table + (SEQUENCE_TABLES[table][0] if fmt == "fasta" else SUFFIXES[fmt])
            metadata = _metadata(sources, table, where)
            with views.reading(f"reading {table} failed"):
                rows = _write(views, table, sql, staging / name, fmt, compression_level,
                              metadata, fasta.line_width)
            done.append(Exported(table, out / name, rows))
        for item in done:
            os.replace(staging / item.path.name, item.path)
        return done
    except OSError as exc:
        raise VpkgError(f"{out}: cannot write the {fmt} files ({exc.strerror or exc}); check "
                        "the folder's permissions and free space") from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if created and not any(out.iterdir()):
            out.rmdir()


def _tables(views: Views, fmt: str, tables: Sequence[str] | None,
            with_sequence: str | None) -> list[str]:
    if tables:
        for table in tables:
            views.require(table)
            if fmt == "fasta" and table not in SEQUENCE_TABLES:
                raise ParameterError(
                    f"--format fasta: {table} has no sequences; FASTA takes "
                    f"{', '.join(SEQUENCE_TABLES)}; write {table} as tsv, csv, ndjson or "
                    "parquet", parameter="format")
        return list(tables)
    if fmt == "fasta":
        found = [t for t in views.tables if t in SEQUENCE_TABLES]
        if not found:
            raise ParameterError("--format fasta: no package given has a sequence member "
                                 "(genomic.fna, cds.fna, protein.faa)", parameter="format")
        return found
    return ["genomes"] if with_sequence else list(views.tables)


def _plan(views: Views, table: str, fmt: str, columns, where, with_sequence,
          fasta: FastaOptions) -> str:
    """The SELECT writing ``table``: the selection, shaped for the format."""
    if fmt != "fasta":
        return select_sql(views, table, columns=columns, where=where, with_sequence=with_sequence)
    if columns or with_sequence:
        raise ParameterError("--format fasta takes --id-column and --description-column, "
                             "not --columns or --with-sequence", parameter="columns")
    id_column = fasta.id_column or SEQUENCE_TABLES[table][1]
    wanted = [id_column, "sequence"]
    if fasta.description_column:
        wanted.insert(1, fasta.description_column)
    sql = select_sql(views, table, columns=wanted, where=where)
    description = (f"CAST({quote(fasta.description_column)} AS VARCHAR)"
                   if fasta.description_column else "NULL")
    return (f"SELECT CAST({quote(id_column)} AS VARCHAR) AS id, {description} AS description, "
            f"sequence FROM ({sql}) AS selected")


def _write(views: Views, table: str, sql: str, path: Path, fmt: str,
           compression_level: int | None, metadata: dict[str, str], line_width: int) -> int:
    """Write the rows of ``sql`` to ``path``; return the row count."""
    doing = f"reading {table} failed"
    if fmt == "fasta":
        with open(path, "wb") as fh:
            return write_fasta(views.reader(sql, doing=doing), fh, line_width=line_width)
    if fmt == "parquet":
        reader = views.reader(sql, doing=doing)
        return write_parquet_file(_typed(reader, table), path, metadata, compression_level)
    with open(path, "wb") as fh:
        if fmt == "ndjson":
            return write_lines(views.reader(ndjson_sql(views.con, sql), LINE_ROWS, doing), fh)
        delimiter = "\t" if fmt == "tsv" else ","
        header = delimited_header(views.con, sql, delimiter)  # before the rows stream
        lines = views.reader(delimited_sql(views.con, sql, delimiter), LINE_ROWS, doing)
        return write_lines(lines, fh, header)


def _typed(reader, table: str):
    """Batches with the table's own Arrow types where a column keeps its name (DuckDB gives
    ``string`` for ``large_string``, nullable fields...)."""
    import pyarrow as pa

    fixed = {f.name: f for f in schema(table)} if table in TABLES else {}
    target = pa.schema([fixed.get(f.name, f) for f in reader.schema])
    if target == reader.schema:
        return reader
    return pa.RecordBatchReader.from_batches(target, (b.cast(target) for b in reader))


def _metadata(sources: list[dict], table: str, where: str | None) -> dict[str, str]:
    from vpkg.version import __version__

    return {"vpkg.packages": json.dumps(sources), "vpkg.version": __version__,
            "vpkg.table": table, "vpkg.where": where or ""}


