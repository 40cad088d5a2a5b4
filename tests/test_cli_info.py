"""`vpkg info`: members and sizes, apiVersion, tables and row counts, verification."""

from __future__ import annotations

import json
import zipfile

from conftest import CONSTRUCTED, build_zip, zip_members

from vpkg.cli import main

ALL = CONSTRUCTED / "sars-cov-2_all_members.constructed.zip"


def test_info_every_real_package(real_zip, capsys):
    assert main(["info", str(real_zip)]) == 0
    out = capsys.readouterr().out
    with zipfile.ZipFile(real_zip) as zf:
        for item in zf.infolist():
            assert f"{item.filename}" in out and f"{item.file_size:,} bytes" in out
        api = json.loads(zf.read("ncbi_dataset/data/dataset_catalog.json"))["apiVersion"]
        reports = [ln for ln in zf.read("ncbi_dataset/data/data_report.jsonl").splitlines()
                   if ln.strip()]
        sequences = zf.read("ncbi_dataset/data/genomic.fna").count(b">")
    assert f"apiVersion  {api}" in out
    lines = out.splitlines()
    assert any(ln.split()[:3] == ["genomes", f"{len(reports):,}", "rows"] for ln in lines)
    assert any(ln.split()[:3] == ["genome_sequences", f"{sequences:,}", "rows"] for ln in lines)
    assert "accessions  data report and genomic.fna list the same accessions" in out
    assert "verified    OK" in out


def test_info_all_tables(capsys):
    assert main(["info", str(ALL), "--no-verify"]) == 0
    out = capsys.readouterr().out
    counts = {ln.split()[0]: ln.split()[1] for ln in out.splitlines() if " rows " in ln}
    assert counts == {"genomes": "5", "genome_sequences": "5", "cds_sequences": "60",
                      "protein_sequences": "190", "annotations": "60", "biosamples": "7"}
    assert "verified    not checked" in out


def test_info_reports_a_failed_verification(tmp_path, capsys):
    members = zip_members(ALL)
    members["ncbi_dataset/data/virus_dataset.md"] += b"tampered"
    bad = build_zip(tmp_path / "bad.zip", members)
    assert main(["info", str(bad)]) == 1
    captured = capsys.readouterr()
    assert "verified    FAILED: " in captured.out and "virus_dataset.md has md5" in captured.out
    assert captured.err.startswith("vpkg info: error: ") and captured.err.count("\n") == 1


def test_info_accession_mismatch(tmp_path, capsys):
    members = zip_members(ALL)
    members.pop("md5sum.txt")
    fna = members["ncbi_dataset/data/genomic.fna"].decode()
    members["ncbi_dataset/data/genomic.fna"] = fna.replace(">MT969997.1", ">XX000001.1")
    assert main(["info", str(build_zip(tmp_path / "mix.zip", members))]) == 0
    out = capsys.readouterr().out
    assert ("accessions  1 report(s) without a sequence, 1 sequence(s) without a report "
            "(e.g. MT969997.1, XX000001.1)") in out


def test_info_damaged_table(tmp_path, capsys):
    members = zip_members(ALL)
    members.pop("md5sum.txt")
    members["ncbi_dataset/data/cds.fna"] = b"not a fasta file\n"
    assert main(["info", str(build_zip(tmp_path / "bad.zip", members))]) == 1
    captured = capsys.readouterr()
    (line,) = [ln for ln in captured.out.splitlines() if ln.split()[0] == "cds_sequences"]
    assert line.split()[1] == "error:" and "cds.fna" in line
    assert captured.err.startswith("vpkg info: error: table cds_sequences: ")
    assert "cds.fna" in captured.err


def test_info_missing_file(tmp_path, capsys):
    assert main(["info", str(tmp_path / "nope.zip")]) == 1
    assert "no such file or directory" in capsys.readouterr().err
