"""A bare report or FASTA file opens as a one-member package; other files that are not
packages get a message saying what they are and what to do."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import CONSTRUCTED, REAL, zip_members

import vpkg

ALL = CONSTRUCTED / "sars-cov-2_all_members.constructed.zip"
DATA = "ncbi_dataset/data"
REPO = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("member, table", [
    ("data_report.jsonl", "genomes"), ("genomic.fna", "genome_sequences"),
    ("cds.fna", "cds_sequences"), ("protein.faa", "protein_sequences"),
    ("annotation_report.jsonl", "annotations"), ("biosample_report.jsonl", "biosamples"),
])
def test_a_bare_member_is_a_one_member_package(tmp_path, member, table):
    raw = zip_members(ALL)[f"{DATA}/{member}"]
    path = tmp_path / member
    path.write_bytes(raw)
    pkg = vpkg.open_package(path)
    assert pkg.tables() == [table] and pkg.members() == [f"{DATA}/{member}"]
    assert pkg.table(table).equals(vpkg.open_package(ALL).table(table))
    assert pkg.member_size(pkg.member_for(table)) == len(raw)


def test_a_fasta_of_another_name_opens_by_its_suffix(tmp_path):
    raw = zip_members(REAL[0])[f"{DATA}/genomic.fna"]
    (tmp_path / "mine.fasta").write_bytes(raw)
    (tmp_path / "mine.faa").write_bytes(b">P1 a protein\nMKV\n")
    genomes = vpkg.open_package(tmp_path / "mine.fasta").table("genome_sequences")
    headers = [line[1:].split()[0].decode() for line in raw.splitlines()
               if line.startswith(b">")]
    assert genomes.column("accession").to_pylist() == headers
    proteins = vpkg.open_package(tmp_path / "mine.faa").table("protein_sequences")
    assert proteins.column("sequence").to_pylist() == ["MKV"]


def test_a_bare_report_on_the_command_line(tmp_path):
    raw = zip_members(REAL[0])[f"{DATA}/data_report.jsonl"]
    path = tmp_path / "data_report.jsonl"
    path.write_bytes(raw)
    accessions = [json.loads(line)["accession"] for line in raw.splitlines() if line.strip()]
    done = subprocess.run([sys.executable, "-m", "vpkg", "sql", str(path),
                           "SELECT accession FROM genomes", "--format", "csv"],
                          capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["accession", *accessions]


def test_files_that_are_not_packages_say_what_they_are(tmp_path):
    db = tmp_path / "wh.duckdb"
    duckdb.connect(str(db)).close()
    parquet = tmp_path / "genomes.parquet"
    pq.write_table(pa.table({"a": [1]}), parquet)
    text = tmp_path / "notes.txt"
    text.write_text("accessions to fetch: NC_045512.2\n")
    cases = {
        db: "this is a DuckDB database, not a package; query it with `vpkg sql",
        parquet: "this is a Parquet file, not a package",
        text: "not a zip file but text; give a package .zip, its extracted folder, or a bare "
              "data_report.jsonl",
    }
    for path, message in cases.items():
        with pytest.raises(vpkg.PackageError) as info:
            vpkg.open_package(path)
        assert str(info.value).startswith(f"{path}: {message}")
