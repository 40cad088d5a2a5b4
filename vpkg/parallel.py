"""Many packages on one machine: read them in parallel processes (``--jobs N``).

`export_packages` writes one Parquet dataset per table from several packages: each worker
exports whole packages into a staging folder, then the parent renames every file into
``OUTDIR/<table>/`` under the package's name, so that the folder reads as one table::

    OUTDIR/genomes/<package>.parquet                                   (no partitioning)
    OUTDIR/genomes/collection_year=2020/<package>-part-0.parquet        (--partition-by)

`load_packages` loads packages into a DuckDB warehouse: workers verify each package and stage
its tables as Arrow IPC files; the parent, the only writer DuckDB allows, commits them one
package per transaction in the order given, while the workers stage the next ones.

Processes rather than threads: parsing is Python code holding the GIL. Workers are started
with ``spawn`` (no inherited DuckDB or Arrow threads) and return only small results.

>>> import tempfile, vpkg.parallel as par
>>> out = tempfile.mkdtemp()
>>> done = par.export_packages(["fixtures/real/Rotavirus_J.zip",
...                             "fixtures/real/Hantavirus_Z10.zip"], out, jobs=2)
>>> [(d.table, d.path.name, d.rows, d.packages) for d in done]
[('genomes', 'genomes', 41, 2), ('genome_sequences', 'genome_sequences', 41, 2)]
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import tempfile
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vpkg.errors import ParameterError, VpkgError

if TYPE_CHECKING:  # pragma: no cover
    import duckdb
    import pyarrow as pa

    from vpkg.sinks.warehouse import LoadResult


@dataclass(frozen=True)
class ExportedTable:
    """One table written from several packages: its dataset folder, rows and package count."""

    table: str
    path: Path
    rows: int
    packages: int
    partition_by: str | None = None

    def __fspath__(self) -> str:
        return os.fspath(self.path)


def check_jobs(jobs: int) -> int:
    """``jobs`` if it is a positive number of processes, else `ParameterError`."""
    if not isinstance(jobs, int) or jobs < 1:
        raise ParameterError(f"--jobs {jobs!r}: give a positive number of processes",
                             parameter="jobs")
    return jobs


# ---- export ----------------------------------------------------------------------------------


def export_packages(
    packages: Iterable[str | os.PathLike],
    outdir: str | os.PathLike,
    *,
    jobs: int = 1,
    progress: bool | None = None,
    **options: Any,
) -> list[ExportedTable]:
    """Export several packages to one Parquet dataset per table, ``jobs`` packages at a time.

    Parameters
    ----------
    packages
        Package paths (zips or extracted folders).
    outdir
        The output folder; ``outdir/<table>/`` is replaced as a whole, in one rename per table,
        once every package is written. On an error nothing is replaced.
    jobs
        Worker processes (1: in this process, one package after the other).
    progress
        A bar counting packages: None (default) on a terminal only.
    options
        Passed to `vpkg.package.Package.to_parquet` for each package (``tables``,
        ``partition_by``, ``compression_level``, ``verify``, ...).

    Returns
    -------
    list[ExportedTable]
        One per table written, in contract order.
    """
    from vpkg import progress as progress_bars
    from vpkg.sinks.parquet import _move_into_place, output_dir
    from vpkg.tables import TABLES

    paths = [os.fspath(p) for p in packages]
    check_jobs(jobs)
    if not paths:
        raise ParameterError("no package given", parameter="package")
    names = _unique_names(paths)
    created = not Path(outdir).exists()
    out = output_dir(outdir)
    staging = Path(tempfile.mkdtemp(prefix=".vpkg-export-", dir=out))
    try:
        tasks = [(_export_one, (path, os.fspath(staging / str(i)), options))
                 for i, path in enumerate(paths)]
        rows: dict[str, int] = {}
        counts: dict[str, int] = {}
        partition: dict[str, str | None] = {}
        final = staging / "final"
        with progress_bars.bar(len(paths), "export", progress, unit="packages") as bar:
            for i, written in enumerate(run_ordered(tasks, jobs)):
                bar.update(1)
                for table, part_by, n in written:
                    _gather(staging / str(i), table, final / table, names[i])
                    rows[table] = rows.get(table, 0) + n
                    counts[table] = counts.get(table, 0) + 1
                    partition[table] = part_by
        tables = [t for t in TABLES if t in rows]
        _move_into_place(final, out, tables)
        return [ExportedTable(t, out / t, rows[t], counts[t], partition[t]) for t in tables]
    except OSError as exc:
        raise VpkgError(f"{out}: cannot write the Parquet files ({exc.strerror or exc}); "
                        "check the folder's permissions and free space") from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if created and out.exists() and not any(out.iterdir()):
            out.rmdir()


def _export_one(path: str, outdir: str, options: dict) -> list[tuple[str, str | None, int]]:
    """Worker: export one package into ``outdir``; (table, partition column, rows) each."""
    from vpkg.package import open_package

    with open_package(path) as pkg:
        done = pkg.to_parquet(outdir, progress=False, **options)
    return [(d.table, d.partition_by, d.rows) for d in done]


def _gather(folder: Path, table: str, target: Path, name: str) -> None:
    """Move one package's output of ``table`` into the table's dataset folder ``target``."""
    single = folder / f"{table}.parquet"
    if single.is_file():
        target.mkdir(parents=True, exist_ok=True)
        os.replace(single, target / f"{name}.parquet")
        return
    dataset = folder / table
    for file in sorted(dataset.rglob("*.parquet")):
        rel = file.relative_to(dataset)
        dest = target / rel.parent / f"{name}-{rel.name}"
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(file, dest)


def _unique_names(paths: list[str]) -> list[str]:
    """A file-name stem per package (``x.zip`` -> ``x``), numbered when two are the same."""
    names, seen = [], {}
    for path in paths:
        p = Path(path)
        stem = p.stem if p.suffix.lower() == ".zip" else p.resolve().name
        seen[stem] = seen.get(stem, 0) + 1
        names.append(stem if seen[stem] == 1 else f"{stem}-{seen[stem]}")
    return names


# ---- load ------------------------------------------------------------------------------------


def load_packages(
    packages: Iterable[str | os.PathLike],
    db: str | os.PathLike | duckdb.DuckDBPyConnection,
    *,
    jobs: int = 2,
    verify: bool = True,
    force: bool = False,
) -> Iterator[LoadResult]:
    """Load packages into a DuckDB warehouse, staging them in ``jobs`` worker processes.

    Same rules as `vpkg.load` (one transaction per package, in the order given); yields each
    package's `LoadResult` as soon as it is committed. Staged tables go to a temporary
    folder beside the database and are removed once loaded.
    """
    from vpkg.sinks import warehouse

    paths = [os.fspath(p) for p in packages]
    check_jobs(jobs)
    con, own = warehouse.connection(db)
    beside = Path(db).resolve().parent if isinstance(db, str | os.PathLike) else None
    staging = Path(tempfile.mkdtemp(prefix=".vpkg-load-", dir=beside))
    try:
        tasks = [(_stage_one, (path, os.fspath(staging / str(i)), verify))
                 for i, path in enumerate(paths)]
        for staged in run_ordered(tasks, jobs):
            try:
                if not force and warehouse.is_loaded(con, staged.md5):
                    yield warehouse.LoadResult(file=staged.file, md5=staged.md5, skipped=True)
                    continue
                sources = {t: StagedSource(t, staged.folder / f"{t}.arrow", staged.file)
                           for t in staged.tables}
                yield warehouse.load_sources(con, sources, file=staged.file, md5=staged.md5,
                                             api_version=staged.api_version)
            finally:
                shutil.rmtree(staged.folder, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if own:
            con.close()


@dataclass
class StagedPackage:
    """What a worker staged of one package: its tables as Arrow IPC files in ``folder``."""

    file: str  # the package's absolute path, as the warehouse records it
    md5: str
    api_version: str | None
    folder: Path
    tables: list[str]


@dataclass
class StagedSource:
    """A table a worker already read into an Arrow IPC file, as the warehouse sink reads a
    `vpkg.sources.Source`: ``schema``, fresh scans through ``__arrow_c_stream__``, the
    ``_ord`` column with ``ordinal``, and ``rows`` and ``error`` of the last scan."""

    table: str
    file: Path
    package: str
    ordinal: bool = False
    error: VpkgError | None = field(default=None, init=False)
    rows: int = field(default=0, init=False)

    def with_options(self, *, ordinal: bool) -> StagedSource:
        return StagedSource(self.table, self.file, self.package, ordinal)

    @property
    def schema(self) -> pa.Schema:
        import pyarrow as pa

        from vpkg.sources import ORDINAL

        base = pa.ipc.open_file(pa.memory_map(os.fspath(self.file))).schema
        return base.insert(0, pa.field(ORDINAL, pa.int64(), False)) if self.ordinal else base

    def batches(self) -> Iterator[pa.RecordBatch]:
        """The staged batches, memory-mapped, as written."""
        import pyarrow as pa

        reader = pa.ipc.open_file(pa.memory_map(os.fspath(self.file)))
        self.rows = 0
        schema = self.schema
        for i in range(reader.num_record_batches):
            batch = reader.get_batch(i)
            if self.ordinal:
                ordinals = pa.array(range(self.rows, self.rows + batch.num_rows), pa.int64())
                batch = pa.RecordBatch.from_arrays([ordinals, *batch.columns], schema=schema)
            self.rows += batch.num_rows
            yield batch

    def __arrow_c_stream__(self, requested_schema: object | None = None) -> object:
        import pyarrow as pa

        reader = pa.RecordBatchReader.from_batches(self.schema, self.batches())
        return reader.__arrow_c_stream__(requested_schema)


def _stage_one(path: str, folder: str, verify: bool) -> StagedPackage:
    """Worker: verify a package, take its md5, and write each table to ``<table>.arrow``."""
    import pyarrow as pa

    from vpkg.container import integrity
    from vpkg.package import open_package

    out = Path(folder)
    out.mkdir(parents=True)
    with open_package(path) as pkg:
        digests = pkg.verify() if verify else None
        for table in pkg.tables():
            source = pkg.source(table)
            with pa.OSFile(os.fspath(out / f"{table}.arrow"), "wb") as sink, \
                    pa.ipc.new_file(sink, source.schema) as writer:
                for batch in source.batches():
                    writer.write_batch(batch)
        return StagedPackage(
            file=str(pkg.path.resolve()), md5=integrity.package_md5(pkg, digests),
            api_version=pkg.api_version, folder=out, tables=pkg.tables(),
        )


# ---- running tasks ---------------------------------------------------------------------------


def run_ordered(tasks: list[tuple[Callable, tuple]], jobs: int) -> Iterator[Any]:
    """Run ``(function, args)`` tasks in ``jobs`` processes; yield the results in task order.

    At most ``jobs + 1`` tasks are queued or running at a time, so that the results a slow
    consumer has not taken yet stay few. With ``jobs=1`` the tasks run in this process. The
    first error a task raises is raised here, after the pending tasks are cancelled.
    """
    if jobs == 1:
        for function, args in tasks:
            yield function(*args)
        return
    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(max_workers=jobs, mp_context=context)
    pending: deque[Future] = deque()
    todo = iter(tasks)
    try:
        for function, args in todo:
            pending.append(pool.submit(function, *args))
            if len(pending) > jobs:
                break
        while pending:
            result = _result(pending.popleft())
            for function, args in todo:
                pending.append(pool.submit(function, *args))
                break
            yield result
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _result(future: Future) -> Any:
    try:
        return future.result()
    except BrokenProcessPool as exc:
        raise VpkgError(
            "a worker process died (out of memory, or killed); run again with fewer --jobs"
        ) from exc
