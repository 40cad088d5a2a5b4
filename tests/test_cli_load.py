"""`vpkg load`: packages into a DuckDB warehouse, idempotent."""

from __future__ import annotations

import duckdb
from conftest import CONSTRUCTED, REAL

from vpkg.cli import main

ALL = CONSTRUCTED / "sars-cov-2_all_members.constructed.zip"


def test_load_all_real_packages_then_again(tmp_path, capsys):
    db = tmp_path / "wh.duckdb"
    assert main(["load", *map(str, REAL), "--db", str(db), "--no-progressbar"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == len(REAL) and all(" new, 0 newer (replaced)" in line for line in out)
    con = duckdb.connect(str(db), read_only=True)
    total = con.execute("SELECT sum(genomes_rows) FROM packages").fetchall()[0][0]
    assert con.execute("SELECT count(*) FROM genomes").fetchall() == [(total,)]
    con.close()
    assert main(["load", str(REAL[0]), "--db", str(db)]) == 0
    assert "already loaded" in capsys.readouterr().out
    assert main(["load", str(REAL[0]), "--db", str(db), "--force", "--no-verify"]) == 0
    assert "genomes 0 new, 0 newer (replaced), " in capsys.readouterr().out


def test_load_error_is_one_line(tmp_path, capsys):
    assert main(["load", str(tmp_path / "missing.zip"), "--db", str(tmp_path / "w.duckdb")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("vpkg load: error: ") and err.count("\n") == 1
