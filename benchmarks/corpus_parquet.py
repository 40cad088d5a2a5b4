"""Convert a folder of packages to Parquet three ways and time each, once, whole-process.

1. ``vpkg export PKG... -o OUT`` — one process, one package after the other;
2. ``vpkg export PKG... -o OUT --jobs N`` — N worker processes (`vpkg.parallel`);
3. Spark ``local[N]`` with the ``vpkg`` data source (`vpkg.spark`), each table written as a
   Parquet folder by the executors (timed with and without the JVM start), once with one
   package per task (the default) and once per other ``--per-partition`` value.

Every way writes the tables the packages hold; the row counts of the three outputs are
checked against each other and against the data-report lines counted with zipfile.

    python benchmarks/corpus_parquet.py --corpus ../shared/realdata/corpus --jobs 2

Needs the ``spark`` extra and Java. Writes ``--json`` (default
``benchmarks/out/corpus_parquet.json``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import pyarrow.dataset as ds

ROOT = Path(__file__).resolve().parent.parent

SPARK_JOB = r"""
import json, os, sys, time
start = time.perf_counter()
os.environ["PYSPARK_PYTHON"] = sys.executable
from pyspark.sql import SparkSession
from vpkg.spark import VpkgDataSource
corpus, out, jobs, tables, per = sys.argv[1:6]
tables = tables.split(",")
spark = (SparkSession.builder.master(f"local[{jobs}]").config("spark.ui.enabled", "false")
         .config("spark.driver.memory", "2g").getOrCreate())
spark.sparkContext.setLogLevel("ERROR")
spark.dataSource.register(VpkgDataSource)
ready = time.perf_counter()
for table in tables:
    (spark.read.format("vpkg").option("table", table).option("packagesPerPartition", per)
     .load(corpus).write.parquet(os.path.join(out, table)))
done = time.perf_counter()
spark.stop()
print(json.dumps({"session_start_s": ready - start, "convert_s": done - ready}))
"""


def timed(command: list[str]) -> tuple[float, str]:
    start = time.perf_counter()
    run = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    elapsed = time.perf_counter() - start
    if run.returncode != 0:
        raise SystemExit(f"failed: {' '.join(command[:4])} ...\n{run.stderr[-3000:]}")
    return elapsed, run.stdout


def rows(folder: Path) -> int:
    return ds.dataset(folder, format="parquet").count_rows()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default=str(ROOT.parent / "shared/realdata/corpus"))
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--json", default=str(ROOT / "benchmarks/out/corpus_parquet.json"))
    parser.add_argument("--per-partition", default="1,50", metavar="K,K",
                        help="Spark runs, one per packagesPerPartition value (default 1,50)")
    args = parser.parse_args()
    per = [int(k) for k in args.per_partition.split(",")]
    packages = sorted(str(p) for p in Path(args.corpus).glob("*.zip"))
    reports = 0
    for path in packages:
        with zipfile.ZipFile(path) as zf:
            reports += zf.read("ncbi_dataset/data/data_report.jsonl").count(b"\n")
    tables = ["genomes", "genome_sequences"]  # what every package of the corpus holds
    work = Path(tempfile.mkdtemp(prefix="vpkg-corpus-bench-"))
    vpkg = [sys.executable, "-m", "vpkg", "export", *packages, "--no-progressbar"]
    results: dict = {"packages": len(packages), "report_lines": reports, "jobs": args.jobs,
                     "cpus": os.cpu_count(), "python": platform.python_version()}
    try:
        results["export_sequential_s"], _ = timed([*vpkg, "-o", str(work / "seq")])
        results["export_jobs_s"], _ = timed([*vpkg, "-o", str(work / "jobs"),
                                             "--jobs", str(args.jobs)])
        ways = ["seq", "jobs"]
        for k in per:  # Spark: one run (one JVM) per packagesPerPartition value
            way = f"spark-{k}"
            total, out = timed([sys.executable, "-c", SPARK_JOB, args.corpus, str(work / way),
                                str(args.jobs), ",".join(tables), str(k)])
            inner = json.loads(out.strip().splitlines()[-1])
            results[way] = {"packages_per_partition": k, "total_s": total,
                            "session_start_s": inner["session_start_s"],
                            "convert_s": inner["convert_s"]}
            ways.append(way)
        counts = {way: {t: rows(work / way / t) for t in tables} for way in ways}
        results["rows"] = counts["seq"]
        assert all(c == counts["seq"] for c in counts.values()), counts
        assert counts["seq"]["genomes"] == reports, (counts, reports)
        results["output_bytes"] = {
            way: sum(f.stat().st_size for f in (work / way).rglob("*.parquet"))
            for way in ways}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"{len(packages)} packages, {reports} genomes, {os.cpu_count()} cores; one run each")
    print(f"vpkg export, sequential     {results['export_sequential_s']:7.1f} s")
    print(f"vpkg export --jobs {args.jobs}        {results['export_jobs_s']:7.1f} s")
    for k in per:
        r = results[f"spark-{k}"]
        print(f"Spark local[{args.jobs}], {k} package(s) a task, whole run {r['total_s']:7.1f} s "
              f"(session start {r['session_start_s']:.1f} s, conversion {r['convert_s']:.1f} s)")


if __name__ == "__main__":
    main()
