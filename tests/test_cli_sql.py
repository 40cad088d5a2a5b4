"""`vpkg sql`: query output as table, CSV, JSON; bad SQL is one line on stderr, exit 1."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

from conftest import CONSTRUCTED, REAL, zip_members

from vpkg.cli import main

ALL = str(CONSTRUCTED / "sars-cov-2_all_members.constructed.zip")
REPO = Path(__file__).resolve().parent.parent
JOIN = ("SELECT g.accession, g.geo_location, b.accession AS biosample, s.length "
        "FROM genomes g JOIN genome_sequences s USING (accession) "
        "LEFT JOIN biosamples b ON b.accession = g.biosample ORDER BY g.accession")


def reports() -> list[dict]:
    data = zip_members(Path(ALL))["ncbi_dataset/data/data_report.jsonl"]
    return sorted((json.loads(ln) for ln in data.splitlines()), key=lambda r: r["accession"])


def test_sql_every_real_package(real_zip, capsys):
    assert main(["sql", str(real_zip), "SELECT count(*) AS n FROM genomes g "
                 "JOIN genome_sequences s USING (accession)", "--format", "csv"]) == 0
    lines = zip_members(real_zip)["ncbi_dataset/data/data_report.jsonl"].splitlines()
    assert capsys.readouterr().out == f"n\n{len([ln for ln in lines if ln.strip()])}\n"


def test_table_format_is_aligned(capsys):
    assert main(["sql", ALL, JOIN]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["accession", "geo_location", "biosample", "length"]
    assert set(out[1]) <= {"-", " "}
    assert out[-1] == "(5 rows)"
    widths = [len(line) for line in out[1:-1]]
    assert len(set(widths)) == 1  # every row as wide as the rule: aligned
    first = reports()[0]
    assert out[2].split()[0] == first["accession"] and out[2].endswith(str(first["length"]))


def test_csv_and_json_values(capsys):
    expected = [(r["accession"], r["location"]["geographicLocation"], r["biosample"],
                 r["length"]) for r in reports()]
    assert main(["sql", ALL, JOIN, "--format", "csv"]) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert rows[0] == ["accession", "geo_location", "biosample", "length"]
    assert [(a, g, b, int(n)) for a, g, b, n in rows[1:]] == expected
    assert main(["sql", ALL, JOIN, "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [(d["accession"], d["geo_location"], d["biosample"], d["length"])
            for d in data] == expected
    assert main(["sql", ALL, JOIN, "--format", "jsonl"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [json.loads(ln)["accession"] for ln in lines] == [e[0] for e in expected]


def test_nested_values_and_dates(capsys):
    sql = ("SELECT accession, update_date, host_lineage[1] AS root, bioprojects "
           "FROM genomes ORDER BY accession LIMIT 1")
    assert main(["sql", ALL, sql, "--format", "json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    first = reports()[0]
    assert row["update_date"] == first["updateDate"][:10]
    assert row["root"] == {"tax_id": first["host"]["lineage"][0]["taxId"],
                           "name": first["host"]["lineage"][0]["name"]}
    assert row["bioprojects"] == first.get("bioprojects")


def test_long_cells_are_cut_in_table_format_only(capsys):
    sql = "SELECT sequence FROM genome_sequences ORDER BY accession LIMIT 1"
    assert main(["sql", ALL, sql, "--max-width", "20"]) == 0
    assert capsys.readouterr().out.splitlines()[2].endswith("…")
    assert main(["sql", ALL, sql, "--format", "csv"]) == 0
    assert len(capsys.readouterr().out.splitlines()[1]) > 29000


def test_bad_sql_is_one_line_and_exit_1(capsys):
    assert main(["sql", ALL, "SELEC * FROM genomes"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1
    assert captured.err.startswith("vpkg sql: error: the query failed: Parser Error")


def test_unknown_table_lists_the_views(capsys):
    assert main(["sql", str(REAL[0]), "SELECT * FROM cds_sequences"]) == 1
    err = capsys.readouterr().err
    assert "cds_sequences does not exist" in err
    assert "(the views of this package: genomes, genome_sequences)" in err


def test_bad_sql_in_a_real_process_has_no_traceback():
    child = subprocess.run([sys.executable, "-m", "vpkg", "sql", ALL, "SELECT nope FROM genomes"],
                           cwd=REPO, capture_output=True, text=True, timeout=60)
    assert child.returncode == 1
    assert "Traceback" not in child.stderr and child.stderr.count("\n") == 1
    assert "Binder Error" in child.stderr


def test_query_from_stdin(capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("SELECT count(*) AS n FROM cds_sequences"))
    assert main(["sql", ALL, "-", "--format", "csv"]) == 0
    assert capsys.readouterr().out == "n\n60\n"
