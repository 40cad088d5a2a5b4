"""`vpkg load`: packages into a DuckDB warehouse, idempotent."""

from __future__ import annotations

import json

import duckdb
from conftest import CONSTRUCTED, REAL, zip_members

from vpkg.cli import main

ALL = CONSTRUCTED / "sars-cov-2_all_members.constructed.zip"


def test_load_all_real_packages_then_again(tmp_path, capsys):
    db = tmp_path / "wh.duckdb"
    assert main(["load", *map(str, REAL), "--db", str(db), "--no-progressbar"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == len(REAL) and all(" new, 0 newer (replaced)" in line for line in out)
    # every distinct accession of the raw data reports, counted here from the JSON
    accessions = set()
    for path in REAL:
        raw = zip_members(path)["ncbi_dataset/data/data_report.jsonl"]
        accessions |= {json.loads(line)["accession"] for line in raw.splitlines() if line.strip()}
    con = duckdb.connect(str(db), read_only=True)
    stored = {r[0] for r in con.execute("SELECT accession FROM genomes").fetchall()}
    con.close()
    assert len(accessions) == 59 and stored == accessions
    assert main(["load", str(REAL[0]), "--db", str(db)]) == 0
    assert "already loaded" in capsys.readouterr().out
    assert main(["load", str(REAL[0]), "--db", str(db), "--force", "--no-verify"]) == 0
    assert "genomes 0 new, 0 newer (replaced), " in capsys.readouterr().out


def test_load_error_is_one_line(tmp_path, capsys):
    assert main(["load", str(tmp_path / "missing.zip"), "--db", str(tmp_path / "w.duckdb")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("vpkg load: error: ") and err.count("\n") == 1
