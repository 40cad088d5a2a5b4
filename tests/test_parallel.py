"""`vpkg export PACKAGE... --jobs N` and `vpkg load ... --jobs N`: packages read in worker
processes give the same outputs as one process, and errors stay one line with nothing written.

Run as real subprocesses (the workers are spawned processes). Expected values come from the
packages' own files read with the standard library (zipfile, json) or from sequential runs.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from collections import Counter

import duckdb
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from conftest import CONSTRUCTED, DATA, REAL, build_dir, zip_members

import vpkg

ALL = CONSTRUCTED / "sars-cov-2_all_members.constructed.zip"


def vpkg_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vpkg", *args], capture_output=True,
                          text=True, timeout=300)


def report_lines(path) -> list[dict]:
    with zipfile.ZipFile(path) as zf:
        return [json.loads(line) for line in zf.read(f"{DATA}/data_report.jsonl").splitlines()]


def test_export_many_with_jobs(tmp_path):
    run = vpkg_cli("export", *map(str, REAL), "-o", str(tmp_path), "--jobs", "2",
                   "--no-progressbar")
    assert run.returncode == 0, run.stderr
    genomes = sum(len(report_lines(p)) for p in REAL)
    assert run.stdout.splitlines() == [
        f"{tmp_path / 'genomes'}/\t{genomes} rows from {len(REAL)} packages",
        f"{tmp_path / 'genome_sequences'}/\t{genomes} rows from {len(REAL)} packages",
    ]
    for path in REAL:  # one file per package, named after it, equal to the package's table
        assert pq.read_table(tmp_path / "genomes" / f"{path.stem}.parquet").column(
            "accession").to_pylist() == [r["accession"] for r in report_lines(path)]
        with vpkg.open_package(path) as pkg:
            back = pq.read_table(tmp_path / "genome_sequences" / f"{path.stem}.parquet")
            assert back.equals(pkg.table("genome_sequences"))
    assert ds.dataset(tmp_path / "genomes").count_rows() == genomes
    assert sorted(p.name for p in tmp_path.iterdir()) == ["genome_sequences", "genomes"]


def test_export_jobs_1_and_2_write_the_same(tmp_path):
    packages = [str(ALL), *map(str, REAL[:3])]
    for jobs in ("1", "2"):
        run = vpkg_cli("export", *packages, "-o", str(tmp_path / jobs), "--jobs", jobs,
                       "--partition-by", "collection_year", "--no-progressbar")
        assert run.returncode == 0, run.stderr
    files = sorted(p.relative_to(tmp_path / "1") for p in (tmp_path / "1").rglob("*.parquet"))
    assert files == sorted(p.relative_to(tmp_path / "2")
                           for p in (tmp_path / "2").rglob("*.parquet"))
    for rel in files:
        assert pq.read_table(tmp_path / "1" / rel).equals(pq.read_table(tmp_path / "2" / rel))
    # each genome sits in the partition of its collection year, from the raw JSON
    years = Counter()
    for path in packages:
        for line in report_lines(path):
            date = line.get("isolate", {}).get("collectionDate")
            years[date[:4] if date else "__null__"] += 1
    found = {d.name.split("-", 1)[1]: ds.dataset(d).count_rows()
             for d in (tmp_path / "2" / "genomes").iterdir()}
    assert found == dict(years)


def test_export_same_file_names_are_numbered(tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    shutil.copy(REAL[0], other / REAL[0].name)
    run = vpkg_cli("export", str(REAL[0]), str(other / REAL[0].name), "-o",
                   str(tmp_path / "out"), "--tables", "genomes")
    assert run.returncode == 0, run.stderr
    assert sorted(p.name for p in (tmp_path / "out" / "genomes").iterdir()) == [
        f"{REAL[0].stem}-2.parquet", f"{REAL[0].stem}.parquet"]


def test_export_many_damaged_package_writes_nothing(tmp_path):
    bad = tmp_path / "bad.zip"
    bad.write_bytes(REAL[1].read_bytes()[:-100])
    out = tmp_path / "out"
    (out / "genomes").mkdir(parents=True)
    (out / "genomes" / "earlier.parquet").write_bytes(b"kept")
    run = vpkg_cli("export", str(REAL[0]), str(bad), str(REAL[2]), "-o", str(out),
                   "--jobs", "2")
    assert run.returncode == 1
    assert run.stderr.startswith(f"vpkg export: error: {bad}: ") and run.stderr.count("\n") == 1
    assert [p.name for p in out.iterdir()] == ["genomes"]  # no staging folder left
    assert [p.name for p in (out / "genomes").iterdir()] == ["earlier.parquet"]


def test_jobs_must_be_positive(tmp_path):
    run = vpkg_cli("export", str(ALL), "-o", str(tmp_path), "--jobs", "0")
    assert run.returncode == 1 and run.stderr == (
        "vpkg export: error: --jobs 0: give a positive number of processes\n")
    run = vpkg_cli("load", str(ALL), "--db", str(tmp_path / "w.duckdb"), "--jobs", "-1")
    assert run.returncode == 1 and "--jobs -1: give a positive number" in run.stderr


def warehouse(db) -> dict:
    """Every warehouse table as sorted rows (``packages`` without its load time)."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        tables = [r[0] for r in con.execute("SHOW TABLES").fetchall()]
        return {t: sorted(map(repr, con.execute(
            f"SELECT * EXCLUDE (loaded_at) FROM {t}" if t == "packages" else f"SELECT * FROM {t}"
        ).fetchall())) for t in tables}
    finally:
        con.close()


def test_load_with_jobs_equals_sequential_load(tmp_path):
    folder = build_dir(tmp_path / "extracted", {  # an extracted package too (md5 of a listing)
        k: v for k, v in zip_members(REAL[0]).items() if not k.endswith("/")})
    packages = [str(ALL), *map(str, REAL), str(folder)]
    one, two = tmp_path / "one.duckdb", tmp_path / "two.duckdb"
    seq = vpkg_cli("load", *packages, "--db", str(one), "--no-progressbar")
    par = vpkg_cli("load", *packages, "--db", str(two), "--jobs", "2")
    assert seq.returncode == par.returncode == 0, par.stderr
    assert par.stdout == seq.stdout  # same results, same order
    assert len(par.stdout.splitlines()) == len(packages)
    assert warehouse(one) == warehouse(two)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["extracted", "one.duckdb", "two.duckdb"]
    again = vpkg_cli("load", *packages, "--db", str(two), "--jobs", "2")
    assert again.stdout.count("already loaded") == len(packages)


def test_load_with_jobs_stops_at_a_damaged_package(tmp_path):
    bad = tmp_path / "bad.zip"
    members = zip_members(REAL[1])
    members[f"{DATA}/data_report.jsonl"] = b"{not json\n"
    with zipfile.ZipFile(bad, "w") as zf:
        for name, content in members.items():
            zf.writestr(name, content)
    db = tmp_path / "w.duckdb"
    run = vpkg_cli("load", str(REAL[0]), str(bad), str(REAL[2]), "--db", str(db), "--jobs", "2",
                   "--no-verify")
    assert run.returncode == 1
    assert run.stderr.startswith(f"vpkg load: error: {bad}: ") and run.stderr.count("\n") == 1
    assert len(run.stdout.splitlines()) == 1  # the package before it was committed
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT count(*) FROM genomes").fetchall() == [
        (len(report_lines(REAL[0])),)]
    con.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.zip", "w.duckdb"]


@pytest.mark.parametrize("jobs", [1, 2])
def test_run_ordered_keeps_task_order(jobs):
    from vpkg.parallel import run_ordered

    tasks = [(pow, (n, 2)) for n in range(7)]
    assert list(run_ordered(tasks, jobs)) == [n * n for n in range(7)]


def test_jobs_apply_to_parquet_datasets_only(tmp_path):
    out = tmp_path / "out"
    for extra in (["--format", "tsv"], ["--where", "length > 0"]):
        run = vpkg_cli("export", str(REAL[0]), str(REAL[1]), "-o", str(out), "--jobs", "2",
                       *extra)
        assert run.returncode == 1
        assert run.stderr.startswith("vpkg export: error: --jobs reads several packages into "
                                     "a Parquet dataset per table") and run.stderr.count("\n") == 1
    assert not out.exists()
