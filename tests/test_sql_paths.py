"""`vpkg sql PATH... QUERY`: several packages as one set of views, or one warehouse file."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import CONSTRUCTED, REAL, zip_members

import vpkg
from vpkg.cli import main

REPO = Path(__file__).resolve().parent.parent
ALL = CONSTRUCTED / "sars-cov-2_all_members.constructed.zip"


def accessions(package: Path) -> list[str]:
    data = zip_members(package)["ncbi_dataset/data/data_report.jsonl"].decode()
    return [json.loads(line)["accession"] for line in data.splitlines() if line.strip()]


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vpkg", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=120)


def test_several_packages_give_one_view_per_table_with_the_package():
    child = run_cli("sql", *map(str, REAL), "SELECT package_file, accession FROM genomes",
                    "--format", "csv")
    assert child.returncode == 0, child.stderr
    rows = list(csv.reader(io.StringIO(child.stdout)))
    assert rows[0] == ["package_file", "accession"]
    assert rows[1:] == [[p.name, a] for p in REAL for a in accessions(p)]


def test_a_table_only_some_packages_hold(capsys):
    sql = "SELECT package_file, count(*) AS n FROM cds_sequences GROUP BY ALL"
    assert main(["sql", str(REAL[0]), str(ALL), sql, "--format", "csv"]) == 0
    cds = zip_members(ALL)["ncbi_dataset/data/cds.fna"].count(b">")
    assert capsys.readouterr().out == f"package_file,n\n{ALL.name},{cds}\n"


def test_join_across_packages_stays_within_a_package(capsys):
    sql = ("SELECT count(*) AS n FROM genomes g JOIN genome_sequences s "
           "ON s.accession = g.accession AND s.package_file = g.package_file")
    assert main(["sql", str(REAL[0]), str(REAL[1]), sql, "--format", "csv"]) == 0
    assert capsys.readouterr().out == f"n\n{len(accessions(REAL[0])) + len(accessions(REAL[1]))}\n"


def test_a_warehouse_is_opened_read_only_with_its_own_tables(tmp_path):
    db = tmp_path / "wh.duckdb"
    vpkg.load([REAL[0], REAL[1]], db)
    child = run_cli("sql", str(db), "SELECT accession FROM genomes ORDER BY accession",
                    "--format", "csv")
    assert child.returncode == 0, child.stderr
    assert child.stdout.split()[1:] == sorted(accessions(REAL[0]) + accessions(REAL[1]))
    child = run_cli("sql", str(db), "SELECT file FROM packages ORDER BY file", "--format", "csv")
    assert sorted(Path(f).name for f in child.stdout.split()[1:]) == sorted(
        [REAL[0].name, REAL[1].name])
    child = run_cli("sql", str(db), "DELETE FROM genome_sequences")
    assert child.returncode == 1 and child.stderr.count("\n") == 1
    assert "read-only" in child.stderr
    assert "Traceback" not in child.stderr


def test_a_warehouse_with_packages_is_a_clear_error(tmp_path):
    db = tmp_path / "wh.duckdb"
    vpkg.load(REAL[0], db)
    child = run_cli("sql", str(REAL[0]), str(db), "SELECT 1")
    assert child.returncode == 1 and child.stdout == ""
    assert child.stderr.count("\n") == 1
    assert f"{db} is a DuckDB warehouse: query it alone" in child.stderr


def test_a_query_alone_is_a_clear_error():
    child = run_cli("sql", "SELECT 1")
    assert child.returncode == 1 and child.stderr.count("\n") == 1
    assert "give one or more packages (or one .duckdb file), then the query" in child.stderr


def test_a_warehouse_is_known_by_its_bytes_and_a_missing_one_is_named(tmp_path, capsys):
    db = tmp_path / "wh.duckdb"
    vpkg.load(REAL[0], db)
    other = tmp_path / "warehouse.db"
    shutil.copy(db, other)
    assert main(["sql", str(other), "SELECT count(*) AS n FROM genomes", "--format", "csv"]) == 0
    assert capsys.readouterr().out == f"n\n{len(accessions(REAL[0]))}\n"
    assert main(["sql", str(tmp_path / "nope.duckdb"), "SELECT 1"]) == 1
    assert "nope.duckdb: no such DuckDB file" in capsys.readouterr().err
