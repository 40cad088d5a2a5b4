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
        Passed to `vpkg.sinks.parquet.package_to_parquet` for each package (``tables``,
        ``partition_by``, ``compression_level``, ``verify``, ...).

    Returns
    -------
    list[ExportedTable]
        One per table written, in contract order.
    """
    from vpkg.progress import progress_bar
    from vpkg.schema import TABLES
    from vpkg.sinks.parquet import _move_into_place, _output_dir

    paths = [os.fspath(p) for p in packages]
    check_jobs(jobs)
    if not paths:
        raise ParameterError("no package given", parameter="package")
    names = _unique_names(paths)
    created = not Path(outdir).exists()
    out = _output_dir(outdir)
    staging = Path(tempfile.mkdtemp(prefix=".vpkg-export-", dir=out))
    try:
        tasks = [(_export_one, (path, os.fspath(staging / str(i)), options))
                 for i, path in enumerate(paths)]
        rows: dict[str, int] = {}
        counts: dict[str, int] = {}
        partition: dict[str, str | None] = {}
        final = staging / "final"
        with progress_bar(len(paths), "export", progress, unit="packages") as bar:
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
    from vpkg.sinks.parquet import package_to_parquet

    with open_package(path) as pkg:
        done = package_to_parquet(pkg, outdir, progress=False, **options)
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

    Same rules as `vpkg.sinks.warehouse.load` (one transaction per package, in the order
    given); yields each package's `LoadResult` as soon as it is committed. Staged tables go
    to a temporary folder beside the database and are removed once loaded.
    """
    from vpkg.sinks.warehouse import _connection, load_package

    paths = [os.fspath(p) for p in packages]
    check_jobs(jobs)
    con, own = _connection(db)
    beside = Path(db).resolve().parent if isinstance(db, str | os.PathLike) else None
    staging = Path(tempfile.mkdtemp(prefix=".vpkg-load-", dir=beside))
    try:
        tasks = [(_stage_one, (path, os.fspath(staging / str(i)), verify))
                 for i, path in enumerate(paths)]
        for staged in run_ordered(tasks, jobs):
            try:
                # no byte bar: the staged tables are read from local files in moments
                yield load_package(staged, con, verify=verify, force=force, progress=False)
            finally:
                shutil.rmtree(staged.folder, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if own:
            con.close()


@dataclass
class StagedPackage:
    """A package whose tables a worker has already read into Arrow IPC files.

    It stands in for the `Package` in `load_package`: the same ``path``, tables, member
    sizes, apiVersion and member md5s, with ``reader`` reading the staged files.
    """

    path: Path
    folder: Path
    api_version: str | None
    member_tables: dict[str, str]  # table -> member
    sizes: dict[str, int]  # member -> uncompressed size
    digests: dict[str, str] = field(default_factory=dict)  # member -> md5 (when verified)
    names: list[str] = field(default_factory=list)

    def tables(self) -> list[str]:
        return list(self.member_tables)

    def member_for(self, table: str) -> str:
        return self.member_tables[table]

    def member_size(self, member: str) -> int:
        return self.sizes[member]

    def members(self) -> list[str]:
        return list(self.names)

    def member_md5(self, member: str) -> str:
        return self.digests[member]

    def verify(self) -> dict[str, str]:
        return dict(self.digests)  # the worker verified the package before staging it

    def reader(self, table: str, batch_size: int = 0) -> pa.RecordBatchReader:
        """The staged table, batch by batch, memory-mapped (``batch_size`` as written)."""
        import pyarrow as pa

        source = pa.memory_map(os.fspath(self.folder / f"{table}.arrow"))
        file = pa.ipc.open_file(source)
        batches = (file.get_batch(i) for i in range(file.num_record_batches))
        return pa.RecordBatchReader.from_batches(file.schema, batches)


def _stage_one(path: str, folder: str, verify: bool) -> StagedPackage:
    """Worker: verify a package and write each of its tables to ``folder/<table>.arrow``."""
    import pyarrow as pa

    from vpkg.package import open_package

    out = Path(folder)
    out.mkdir(parents=True)
    with open_package(path) as pkg:
        digests = pkg.verify() if verify else {}
        if not verify and not pkg.path.is_file():
            digests = {m: pkg.member_md5(m) for m in pkg.members()}  # the folder's md5 needs them
        tables = {t: pkg.member_for(t) for t in pkg.tables()}
        for table in tables:
            reader = pkg.reader(table)
            with pa.OSFile(os.fspath(out / f"{table}.arrow"), "wb") as sink, \
                    pa.ipc.new_file(sink, reader.schema) as writer:
                for batch in reader:
                    writer.write_batch(batch)
        return StagedPackage(
            path=pkg.path, folder=out, api_version=pkg.api_version, member_tables=tables,
            sizes={m: pkg.member_size(m) for m in tables.values()}, digests=digests,
            names=pkg.members(),
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
