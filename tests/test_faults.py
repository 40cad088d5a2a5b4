"""Damaged and hostile input: a clear VpkgError or correct data, nothing else."""

from __future__ import annotations

import zipfile

import pytest
from conftest import REAL, build_dir, zip_members

import vpkg
from vpkg.errors import FormatError


@pytest.mark.parametrize("line, what", [
    (b'{"accession":"A\\ud800"}', "unpaired surrogate"),
    (b"[" * 100_000 + b"]" * 100_000, "not valid JSON"),
    (b'{"accession":"A","length":' + b"9" * 5000 + b"}", "not valid JSON"),
    (b'{"accession":"A\xff\xfe"}', "not valid JSON"),
])
def test_hostile_json_lines_are_format_errors(tmp_path, line, what):
    pkg = vpkg.open_package(build_dir(tmp_path, {"data_report.jsonl": line + b"\n"}))
    with pytest.raises(FormatError, match=what) as info:
        pkg.table("genomes")
    assert info.value.line == 1


def test_surrogate_pairs_are_fine(tmp_path):
    raw = b'{"accession":"A1.1","isolate":{"name":"\\ud83e\\udda0 virus"}}\n'
    row = vpkg.open_package(build_dir(tmp_path, {"data_report.jsonl": raw})).table(
        "genomes").to_pylist()[0]
    assert row["isolate_name"] == "\U0001f9a0 virus"


@pytest.mark.parametrize("name", ["../../evil.jsonl", "/etc/evil", "ncbi_dataset\\..\\evil",
                                  "ncbi_dataset/data/../../../outside.fna"])
def test_hostile_member_names_are_never_followed(tmp_path, name):
    members = zip_members(REAL[0])
    path = tmp_path / "hostile.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for member, content in members.items():
            zf.writestr(member, content)
        zf.writestr(name, b">x\nAC\n")
    work = tmp_path / "deep" / "er" / "work"
    work.mkdir(parents=True)
    pkg = vpkg.open_package(path)
    assert name in pkg.members()  # listed as data, never used as a path
    assert pkg.tables() == ["genomes", "genome_sequences"]
    sequences = pkg.table("genome_sequences")
    assert sequences.num_rows == 2 and "x" not in sequences.column("accession").to_pylist()
    before = set(tmp_path.rglob("*"))
    pkg.verify()
    done = pkg.to_parquet(work)
    written = set(tmp_path.rglob("*")) - before
    assert written == {work / f"{t}.parquet" for t in pkg.tables()} == {d.path for d in done}


def test_catalog_path_escaping_the_package_is_not_followed(tmp_path):
    outside = tmp_path / "secret.jsonl"
    outside.write_text('{"accession":"SECRET"}\n')
    catalog = ('{"apiVersion":"V2","assemblies":[{"files":[{"filePath":"../../../secret.jsonl",'
               '"fileType":"DATA_REPORT"}]}]}')
    root = build_dir(tmp_path / "pkg", {"dataset_catalog.json": catalog,
                                        "data_report.jsonl": '{"accession":"A1.1"}\n'})
    pkg = vpkg.open_package(root)
    assert pkg.table("genomes").column("accession").to_pylist() == ["A1.1"]


def test_a_member_inflating_to_one_huge_record_is_refused(tmp_path, monkeypatch):
    from vpkg.readers import fasta

    monkeypatch.setattr(fasta, "MAX_RECORD_BYTES", 1 << 20)
    monkeypatch.setattr(fasta, "BLOCK", 1 << 16)
    path = tmp_path / "bomb.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("ncbi_dataset/data/genomic.fna", b">x\n" + b"A" * (8 << 20))
    assert path.stat().st_size < 100_000  # a ratio of ~1000:1
    with pytest.raises(FormatError, match="longer than 1,048,576 bytes"):
        vpkg.open_package(path).table("genome_sequences")


def test_a_member_inflating_to_one_huge_json_line_is_refused(tmp_path, monkeypatch):
    from vpkg.readers import jsonl

    monkeypatch.setattr(jsonl, "MAX_LINE_BYTES", 1 << 20)
    path = tmp_path / "bomb.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("ncbi_dataset/data/data_report.jsonl",
                    b'{"accession":"' + b"A" * (8 << 20) + b'"}\n')
    with pytest.raises(FormatError, match="line 1: longer than"):
        vpkg.open_package(path).table("genomes")


def test_symlink_entries_are_read_as_data_never_followed(tmp_path):
    secret = tmp_path / "secret.fna"
    secret.write_bytes(b">SECRET\nACGT\n")
    members = zip_members(REAL[0])
    path = tmp_path / "symlink.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for member, content in members.items():
            if member != "ncbi_dataset/data/genomic.fna":
                zf.writestr(member, content)
        link = zipfile.ZipInfo("ncbi_dataset/data/genomic.fna")
        link.external_attr = (0o120777 << 16)  # a symlink entry: its data is the target path
        zf.writestr(link, str(secret))
    pkg = vpkg.open_package(path)
    with pytest.raises(FormatError, match="expected a FASTA header"):
        pkg.table("genome_sequences")  # the entry's text is not FASTA; the target is not read


def test_duplicate_accessions_are_kept_as_rows(tmp_path):
    raw = (b'{"accession":"A1.1","updateDate":"2020-01-01T00:00:00Z","length":10}\n'
           b'{"accession":"A1.1","updateDate":"2021-06-01T00:00:00Z","length":12}\n')
    rows = vpkg.open_package(build_dir(tmp_path, {"data_report.jsonl": raw})).table(
        "genomes").to_pylist()
    assert [(r["accession"], r["length"]) for r in rows] == [("A1.1", 10), ("A1.1", 12)]


def test_report_and_sequence_mismatch_keeps_both(tmp_path):
    from conftest import CONSTRUCTED

    members = zip_members(CONSTRUCTED / "sars-cov-2_all_members.constructed.zip")
    fna = members["ncbi_dataset/data/genomic.fna"]
    members["ncbi_dataset/data/genomic.fna"] = fna.replace(b">MT969997.1", b">XX000001.1")
    pkg = vpkg.open_package(build_dir(tmp_path, members))
    genomes = set(pkg.table("genomes").column("accession").to_pylist())
    sequences = set(pkg.table("genome_sequences").column("accession").to_pylist())
    assert "MT969997.1" in genomes - sequences  # a report record without its sequence
    assert sequences - genomes == {"XX000001.1"}  # a sequence without a report record
    assert len(genomes) == len(sequences) == 5
