"""`Package`: an NCBI Datasets virus data package, and everything one does with it.

The package is a `vpkg.container.Container` (members, catalog, integrity) that hands out one
`vpkg.sources.Source` per table; its methods pass those sources to the sinks (DuckDB views,
Parquet, the warehouse). Readers and sinks never see the package.

>>> import vpkg
>>> pkg = vpkg.open_package("fixtures/real/Rotavirus_J.zip")
>>> pkg.tables()
['genomes', 'genome_sequences']
>>> pkg.table("genomes").num_rows
32
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING

from vpkg import progress as progress_bars
from vpkg.container import Container, integrity
from vpkg.sources import BATCH_SIZE, Source
from vpkg.tables import spec

if TYPE_CHECKING:  # pragma: no cover
    import duckdb
    import pyarrow as pa
    from tqdm import tqdm

    from vpkg.sinks.parquet import Exported
    from vpkg.sinks.warehouse import LoadResult


def open_package(path: str | os.PathLike) -> Package:
    """Open a package zip, the folder it was extracted to, or one bare member file.

    Parameters
    ----------
    path
        The ``.zip`` file, or the directory holding ``ncbi_dataset/`` (the folder
        ``ncbi_dataset`` or ``ncbi_dataset/data`` itself are accepted too), or a bare
        ``data_report.jsonl``, ``annotation_report.jsonl``, ``biosample_report.jsonl`` or
        FASTA file (a package of that one member).

    Raises
    ------
    PackageError
        When the path does not exist or is not a readable package; the message says what
        the file is instead.
    """
    return Package(path)


class Package(Container):
    """An NCBI Datasets virus genome data package. Create it with `open_package`."""

    # ---- tables --------------------------------------------------------------------------
    def source(
        self, table: str, *, batch_size: int = BATCH_SIZE, progress: tqdm | None = None
    ) -> Source:
        """The lazy source of one table: ``.schema``, ``.batches()``, ``__arrow_c_stream__``.

        ``progress`` is a tqdm bar the member's bytes are reported to as they are read.
        """
        spec(table)  # an unknown table is a ParameterError that lists the tables
        return Source(self, table, batch_size=batch_size, progress=progress)

    def sources(
        self, tables: Iterable[str] | None = None, *, batch_size: int = BATCH_SIZE,
        progress: tqdm | None = None,
    ) -> list[Source]:
        """One source per table (default: every table the package holds)."""
        chosen = self.tables() if tables is None else tables
        return [self.source(t, batch_size=batch_size, progress=progress) for t in chosen]

    def reader(self, table: str, batch_size: int = BATCH_SIZE) -> pa.RecordBatchReader:
        """Stream a table as Arrow record batches of at most ``batch_size`` rows."""
        return self.source(table, batch_size=batch_size).reader()

    def table(self, table: str) -> pa.Table:
        """Read a whole table into memory."""
        return self.source(table).read_all()

    def seqrecords(self, table: str = "genome_sequences", **kwargs):
        """Biopython ``SeqRecord`` per sequence row, with metadata and CDS features
        (see `vpkg.bio.seqrecords`)."""
        from vpkg.bio import seqrecords

        return seqrecords(self, table, **kwargs)

    def check_translations(self, **kwargs) -> pa.Table:
        """Every CDS translated and compared with its protein (see `vpkg.bio`)."""
        from vpkg.bio import check_translations

        return check_translations(self, **kwargs)

    def report(self, output: str | os.PathLike, **kwargs):
        """Write the offline HTML report of this package (see `vpkg.sinks.report`)."""
        from vpkg.sinks.report import write_report

        return write_report([self.report_input(verify=kwargs.get("verify", True))], output,
                            **kwargs)

    def report_input(self, batch_size: int = BATCH_SIZE, verify: bool = True):
        """What `vpkg.sinks.report` reads of this package: its sources and `verify`.

        With ``verify``, a zip's member reads are hashed as the report reads them
        (`vpkg.container.checked`), and ``verify`` checks what they saw once they are done,
        instead of reading the package once more.
        """
        from vpkg.container.checked import CheckedReads
        from vpkg.errors import IntegrityError
        from vpkg.sinks.report.data import PackageInput

        held = self.tables()
        files, check, after = self, self.verify, False
        if verify and self.is_zip:
            try:
                checked = CheckedReads(self)
            except IntegrityError:
                pass  # md5sum.txt names a missing member: self.verify says so in the report
            else:
                files, check, after = checked, checked.finish, True
        return PackageInput(
            path=str(self.path),
            members=[(m, self.member_size(m)) for m in self.members()],
            genomes=Source(files, "genomes", batch_size=batch_size) if "genomes" in held
            else None,
            genome_sequences=Source(files, "genome_sequences", batch_size=batch_size)
            if "genome_sequences" in held else None,
            verify=check,
            verify_after_reads=after,
        )

    # ---- integrity -------------------------------------------------------------------------
    def md5sums(self) -> dict[str, str]:
        """The md5 of each member listed in ``md5sum.txt`` (empty when there is none)."""
        return integrity.md5sums(self)

    def verify(self) -> dict[str, str]:
        """Check every zip CRC and every md5 in ``md5sum.txt``; the md5 of every member.

        Raises `IntegrityError` naming the first member whose CRC or md5 does not match, or
        that ``md5sum.txt`` lists but the package lacks.
        """
        return integrity.verify(self)

    def member_md5(self, member: str) -> str:
        """The md5 of a member's content; `IntegrityError` when the member is damaged."""
        return integrity.member_md5(self, member)

    # ---- sinks -----------------------------------------------------------------------------
    def to_duckdb(
        self,
        con: duckdb.DuckDBPyConnection | None = None,
        *,
        tables: Iterable[str] | None = None,
        prefix: str = "",
        materialize: bool = False,
        batch_size: int = BATCH_SIZE,
    ) -> duckdb.DuckDBPyConnection:
        """A DuckDB connection with one view per table, named ``prefix + table``.

        Parameters
        ----------
        con
            A connection to add the views to; a new in-memory one by default.
        tables
            The tables to expose (default: every table the package holds).
        prefix
            Put before every view name, to query several packages on one connection.
        materialize
            Read each table once into a DuckDB temp table instead of at every query.
        batch_size
            Rows per Arrow batch read from the package.

        Examples
        --------
        >>> import vpkg
        >>> pkg = vpkg.open_package("fixtures/real/Hantavirus_Z10.zip")
        >>> con = pkg.to_duckdb(prefix="hanta_")
        >>> con.sql("SELECT count(*) FROM hanta_genomes").fetchall()
        [(9,)]
        """
        from vpkg.sinks.duckdb import connect, register_views

        con = con if con is not None else connect()
        sources = self.sources(tables, batch_size=batch_size)
        register_views(sources, con, prefix=prefix, materialize=materialize)
        return con

    def to_parquet(
        self,
        outdir: str | os.PathLike,
        *,
        tables: Iterable[str] | None = None,
        partition_by: str | None = None,
        compression_level: int | None = None,
        batch_size: int = BATCH_SIZE,
        progress: bool | None = None,
        verify: bool = True,
        **options,
    ) -> list[Exported]:
        """Write ``<outdir>/<table>.parquet`` for every table (see `vpkg.sinks.parquet`).

        ``verify`` checks every zip CRC and ``md5sum.txt`` entry, so that a damaged package
        writes nothing: for a zip, while the tables are read (`vpkg.container.checked`:
        one pass, published only when every check passed); for a folder, first (its md5s
        make the package md5 of the metadata). ``progress`` shows a bar (None: on a
        terminal only); ``options`` go to `vpkg.sinks.parquet.write_parquet`.
        """
        from vpkg.container.checked import CheckedReads
        from vpkg.errors import FormatError
        from vpkg.sinks.parquet import check_compression_level, write_parquet

        chosen = list(self.tables() if tables is None else tables)
        for table in chosen:
            self.member_for(table)  # raises for a table the package lacks
        check_compression_level(compression_level)  # before the package is read
        checked = CheckedReads(self) if verify and self.is_zip else None
        digests = self.verify() if verify and checked is None else None
        metadata = integrity.provenance(self, integrity.package_md5(self, digests))
        has_genomes = "genomes" in self.tables()
        reads = set(chosen) | ({"genomes"} if partition_by and has_genomes else set())
        total = sum(self.member_size(self.member_for(t)) for t in reads)
        files = checked if checked is not None else self
        with progress_bars.bar(total, self.path.name, progress) as bar:
            sources = [Source(files, t, batch_size=batch_size, progress=bar) for t in chosen]
            try:
                return write_parquet(
                    sources,
                    outdir,
                    metadata=metadata,
                    genomes=Source(files, "genomes", progress=bar) if has_genomes else None,
                    partition_by=partition_by,
                    compression_level=compression_level,
                    before_publish=checked.finish if checked is not None else None,
                    **options,
                )
            except FormatError:
                if checked is not None:  # damage can look like bad data: name the damage
                    self.verify()
                raise

    def load_into(
        self,
        con: duckdb.DuckDBPyConnection,
        *,
        verify: bool = True,
        force: bool = False,
        progress: bool | None = None,
        batch_size: int = BATCH_SIZE,
        before_commit: Callable[[duckdb.DuckDBPyConnection], None] | None = None,
    ) -> LoadResult:
        """Upsert this package into the warehouse open on ``con`` (see `load`);
        ``before_commit(con)`` runs last inside its transaction."""
        from vpkg.sinks import warehouse

        md5 = integrity.package_md5(self)
        file = str(self.path.resolve())
        if not force and warehouse.is_loaded(con, md5):
            return warehouse.LoadResult(file=file, md5=md5, skipped=True)
        if verify:
            self.verify()
        total = sum(self.member_size(self.member_for(t)) for t in self.tables())
        with progress_bars.bar(total, self.path.name, progress) as bar:
            sources = {s.table: s for s in self.sources(batch_size=batch_size, progress=bar)}
            return warehouse.load_sources(con, sources, file=file, md5=md5,
                                          api_version=self.api_version,
                                          before_commit=before_commit)


def load(
    packages: str | os.PathLike | Package | Iterable[str | os.PathLike | Package],
    db: str | os.PathLike | duckdb.DuckDBPyConnection,
    *,
    verify: bool = True,
    force: bool = False,
    progress: bool | None = None,
    batch_size: int = BATCH_SIZE,
) -> list[LoadResult]:
    """Upsert packages into a persistent DuckDB warehouse, one transaction per package.

    The rules (newest ``update_date`` wins, tables a package lacks are left alone, a package
    already loaded is skipped by md5) are those of `vpkg.sinks.warehouse`.

    Parameters
    ----------
    packages
        A package (path or `Package`) or several.
    db
        The DuckDB database file (created when missing), or an open connection.
    verify
        Check every CRC and md5 of a package before loading it (`Package.verify`).
    force
        Load a package even when its md5 is already recorded in ``packages``.
    progress
        Show a progress bar: None (default) on a terminal only.
    batch_size
        Rows per Arrow batch read from a package.

    Returns
    -------
    list[LoadResult]
        One per package, in order.

    Raises
    ------
    VpkgError
        When a package cannot be read or verified, or the database cannot be opened or holds
        tables with other columns. Packages loaded before the failing one stay loaded.

    Examples
    --------
    >>> import tempfile, os, vpkg
    >>> db = os.path.join(tempfile.mkdtemp(), "wh.duckdb")
    >>> (result,) = vpkg.load(["fixtures/real/Rotavirus_J.zip"], db)
    >>> result.genomes_new, result.rows_inserted
    (32, {'genomes': 32, 'genome_sequences': 32})
    """
    from vpkg.sinks.warehouse import connection

    items = [packages] if isinstance(packages, str | os.PathLike | Package) else list(packages)
    con, own = connection(db)
    options = {"verify": verify, "force": force, "progress": progress,
               "batch_size": batch_size}
    try:
        results = []
        for item in items:
            if isinstance(item, Package):
                results.append(item.load_into(con, **options))
                continue
            with open_package(item) as pkg:
                results.append(pkg.load_into(con, **options))
        return results
    finally:
        if own:
            con.close()


def views_of(packages: Sequence[Package], batch_size: int = BATCH_SIZE):
    """DuckDB views over several packages, each table the packages' rows one after another
    (see `vpkg.sinks.multi`); with several packages a ``package_file`` column names each
    row's package."""
    from vpkg.sinks.multi import labels, open_views

    return open_views([{s.table: s for s in p.sources(batch_size=batch_size)}
                       for p in packages], labels([p.path for p in packages]))


def export(
    packages: Sequence[Package],
    outdir: str | os.PathLike,
    fmt: str = "parquet",
    *,
    tables: Sequence[str] | None = None,
    columns: Sequence[str] | None = None,
    where: str | None = None,
    with_sequence: str | None = None,
    fasta=None,
    partition_by: str | None = None,
    compression_level: int | None = None,
    verify: bool = True,
    progress: bool | None = None,
) -> list[Exported]:
    """Write tables of ``packages`` under ``outdir`` as ``fmt``, one file per table.

    One package without a selection is `Package.to_parquet` for Parquet (partitions
    included); otherwise the rows go through DuckDB views over every package
    (`views_of`) and `vpkg.sinks.formats.write_views` writes them: ``columns``, ``where``
    (a DuckDB predicate) and ``with_sequence`` select them, ``fasta``
    (`vpkg.sinks.formats.FastaOptions`) shapes FASTA records. ``verify`` checks every
    package's CRCs and md5sum.txt once the selection is known to be valid, before anything
    is written.

    Raises
    ------
    ParameterError
        An unknown format, table or column, a predicate DuckDB rejects, a table the format
        cannot take, ``partition_by`` with a selection or several packages.
    """
    from vpkg.errors import ParameterError
    from vpkg.sinks import formats

    formats.check_format(fmt)
    if fmt == "parquet" and len(packages) == 1 and not (columns or where or with_sequence):
        return packages[0].to_parquet(outdir, tables=tables, partition_by=partition_by,
                                      compression_level=compression_level,
                                      progress=progress, verify=verify)
    if partition_by:
        raise ParameterError(
            "--partition-by works for a Parquet export without --columns, --where or "
            "--with-sequence; drop it, or export without a selection",
            parameter="partition_by")

    def provenance() -> list[dict]:
        digests = [p.verify() if verify else None for p in packages]
        if fmt != "parquet":
            return []
        return [{"file": p.path.name, "md5": integrity.package_md5(p, d),
                 "api_version": p.api_version} for p, d in zip(packages, digests, strict=True)]

    views = views_of(packages)
    try:
        return formats.write_views(views, outdir, fmt, tables=tables, columns=columns,
                                   where=where, with_sequence=with_sequence, fasta=fasta,
                                   compression_level=compression_level,
                                   provenance=provenance)
    finally:
        views.close()
