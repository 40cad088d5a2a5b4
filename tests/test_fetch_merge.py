"""Merging chunk packages: byte-exact concatenation, NCBI's catalog and md5sum formats, same rows.

Expected values are computed here with `zipfile` and `hashlib` alone, never with vpkg.
"""

from __future__ import annotations

import hashlib
import json
import logging
import zipfile

import pyarrow as pa
import pytest
from conftest import CONSTRUCTED, FIXTURES, REAL, build_zip, zip_members
from ncbi_server import flip_byte

from vpkg.fetch.merge import catalog_json, merge_packages
from vpkg.package import open_package

DATA = "ncbi_dataset/data/"
ALL_MEMBERS = CONSTRUCTED / "sars-cov-2_all_members.constructed.zip"
ROTA, HANTA = FIXTURES / "real" / "Rotavirus_J.zip", FIXTURES / "real" / "Hantavirus_Z10.zip"
SARS = FIXTURES / "real" / "sars-cov-2_NC_045512.2_2026.zip"
WHOLE = [*REAL, CONSTRUCTED / "empty.constructed.zip", ALL_MEMBERS]  # each has a catalog


@pytest.mark.parametrize("source", WHOLE, ids=[p.stem for p in WHOLE])
def test_merging_one_package_gives_it_back_byte_for_byte(source, tmp_path):
    """Catalog and md5sum.txt included: the merge writes NCBI's own format."""
    merge_packages([source], tmp_path / "m.zip")
    with zipfile.ZipFile(source) as a, zipfile.ZipFile(tmp_path / "m.zip") as b:
        assert b.namelist() == a.namelist()
        for name in a.namelist():
            assert b.read(name) == a.read(name), name
        assert {i.compress_type for i in b.infolist()} == {zipfile.ZIP_DEFLATED}


def test_catalog_format_matches_a_real_catalog():
    real = (FIXTURES / "catalogs" / "dataset_catalog.all_file_types.json").read_bytes()
    files = json.loads(real)["assemblies"][0]["files"]
    entries = [(f["filePath"], f["fileType"], int(f["uncompressedLengthBytes"])) for f in files]
    assert catalog_json("V2", entries) == real


def test_chunks_are_concatenated_in_order(tmp_path):
    sources = [ROTA, ALL_MEMBERS, HANTA, SARS]
    md5s = merge_packages(sources, tmp_path / "m.zip")
    merged = zip_members(tmp_path / "m.zip")
    chunks = [zip_members(s) for s in sources]
    for name in ["data_report.jsonl", "genomic.fna", "annotation_report.jsonl", "cds.fna",
                 "protein.faa", "biosample_report.jsonl"]:  # all end with a newline
        expected = b"".join(c.get(DATA + name, b"") for c in chunks)
        assert merged[DATA + name] == expected, name
    assert merged[DATA + "data_report.jsonl"].count(b"\n") == 32 + 5 + 9 + 1  # wc -l of each chunk
    assert merged[DATA + "genomic.fna"].count(b">") == 32 + 5 + 9 + 1
    assert merged["README.md"] == chunks[0]["README.md"]
    assert merged[DATA + "virus_dataset.md"] == chunks[0][DATA + "virus_dataset.md"]
    assert list(merged) == [
        "README.md", *(DATA + n for n in ["data_report.jsonl", "annotation_report.jsonl",
        "biosample_report.jsonl", "cds.fna", "genomic.fna", "protein.faa", "virus_dataset.md",
        "dataset_catalog.json"]), "md5sum.txt",
    ]
    catalog = json.loads(merged[DATA + "dataset_catalog.json"])
    assert catalog["apiVersion"] == "V2"
    files = catalog["assemblies"][0]["files"]
    assert [(f["filePath"], f["fileType"]) for f in files] == [
        ("data_report.jsonl", "DATA_REPORT"), ("annotation_report.jsonl", "ANNOTATION_REPORT"),
        ("biosample_report.jsonl", "BIOSAMPLE_REPORT"), ("cds.fna", "CDS_NUCLEOTIDE_FASTA"),
        ("genomic.fna", "GENOMIC_NUCLEOTIDE_FASTA"), ("protein.faa", "PROTEIN_FASTA"),
        ("virus_dataset.md", "README"),
    ]
    for f in files:
        assert f["uncompressedLengthBytes"] == str(len(merged[DATA + f["filePath"]]))
    lines = merged["md5sum.txt"].decode().splitlines()
    expected_sums = {n: hashlib.md5(b).hexdigest() for n, b in merged.items()
                     if n.startswith(DATA)}
    assert lines == [f"{md5}  {name}" for name, md5 in expected_sums.items()]
    assert md5s == expected_sums
    with open_package(tmp_path / "m.zip") as package:
        assert package.verify()


def tables(path) -> dict[str, pa.Table]:
    with open_package(path) as package:
        return {t: package.table(t) for t in package.tables()}


def test_merged_rows_are_the_chunks_rows(tmp_path):
    sources = [ALL_MEMBERS, ROTA, ALL_MEMBERS, SARS]  # the same BioSamples twice
    merge_packages(sources, tmp_path / "m.zip")
    merged = tables(tmp_path / "m.zip")
    parts = [tables(s) for s in sources]
    assert sorted(merged) == sorted({t for p in parts for t in p})
    for name, table in merged.items():
        expected = pa.concat_tables([p[name] for p in parts if name in p]).to_pylist()
        if name == "biosamples":  # first occurrence of each BioSample
            expected = list({row["accession"]: row for row in reversed(expected)}.values())[::-1]
        assert table.to_pylist() == expected, name
    assert merged["genomes"].num_rows == 5 + 32 + 5 + 1
    assert merged["biosamples"].num_rows == 7


def test_shared_biosamples_appear_once_first_kept(tmp_path):
    line = '{{"accession": "{}", "title": "{}"}}\n'
    a = build_zip(tmp_path / "a.zip", {
        "biosample_report.jsonl": line.format("S1", "a") + line.format("S2", "a"),
    })
    b = build_zip(tmp_path / "b.zip", {
        "biosample_report.jsonl": "\n" + line.format("S2", "b") + line.format("S3", "b"),
    })
    merge_packages([a, b], tmp_path / "m.zip")
    assert zip_members(tmp_path / "m.zip")[DATA + "biosample_report.jsonl"] == (
        line.format("S1", "a") + line.format("S2", "a") + line.format("S3", "b")
    ).encode()


def test_a_member_without_its_final_newline_glues_nothing(tmp_path):
    a = build_zip(tmp_path / "a.zip", {
        "data_report.jsonl": '{"accession": "A1.1"}',
        "genomic.fna": ">A1.1 virus a\nACGT\nAC",
        "biosample_report.jsonl": '{"accession": "S1"}',
    })
    b = build_zip(tmp_path / "b.zip", {
        "data_report.jsonl": '{"accession": "B1.1"}\n',
        "genomic.fna": ">B1.1 virus b\nGGTT",
        "biosample_report.jsonl": '{"accession": "S2"}',
    })
    merge_packages([a, b], tmp_path / "m.zip")
    merged = zip_members(tmp_path / "m.zip")
    assert merged[DATA + "data_report.jsonl"] == b'{"accession": "A1.1"}\n{"accession": "B1.1"}\n'
    assert merged[DATA + "genomic.fna"] == b">A1.1 virus a\nACGT\nAC\n>B1.1 virus b\nGGTT\n"
    assert merged[DATA + "biosample_report.jsonl"] == b'{"accession": "S1"}\n{"accession": "S2"}\n'
    sequences = tables(tmp_path / "m.zip")["genome_sequences"]
    assert sequences.column("accession").to_pylist() == ["A1.1", "B1.1"]
    assert sequences.column("sequence").to_pylist() == ["ACGTAC", "GGTT"]


def test_a_later_chunk_loses_its_bom_and_leading_blank_lines(tmp_path):
    bom = "\ufeff"
    a = build_zip(tmp_path / "a.zip", {"genomic.fna": ">A\nAC\n", "data_report.jsonl": "{}\n"})
    b = build_zip(tmp_path / "b.zip", {
        "genomic.fna": bom + "\n \n>B\nGG\n",
        "data_report.jsonl": bom + '{"accession": "B"}\n',
    })
    merge_packages([a, b], tmp_path / "m.zip")
    merged = zip_members(tmp_path / "m.zip")
    assert merged[DATA + "genomic.fna"] == b">A\nAC\n>B\nGG\n"
    assert merged[DATA + "data_report.jsonl"] == b'{}\n{"accession": "B"}\n'


def test_unexpected_member_names_are_never_output_paths(tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="vpkg.fetch")
    evil = build_zip(tmp_path / "evil.zip", {
        "genomic.fna": ">A\nAC\n",
        "ncbi_dataset/data/../../escape.txt": "x",
        "ncbi_dataset/data/sub/genomic.fna": ">X\nTT\n",
        "ncbi_dataset/data/Genomic.fna": ">Y\nTT\n",
        "ncbi_dataset/data/extra.tsv": "a\tb\n",
        "../outside.txt": "x",
    })
    merge_packages([SARS, evil], tmp_path / "m.zip")
    with zipfile.ZipFile(tmp_path / "m.zip") as zf:
        assert zf.namelist() == [
            "README.md", DATA + "data_report.jsonl", DATA + "genomic.fna",
            DATA + "dataset_catalog.json", "md5sum.txt",
        ]
        assert zf.read(DATA + "genomic.fna").endswith(b"\n>A\nAC\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["evil.zip", "m.zip"]
    assert not (tmp_path.parent / "outside.txt").exists()
    assert "left out of the merged package" in caplog.text
    assert "escape.txt" in caplog.text


def test_a_failed_merge_leaves_no_output(tmp_path):
    """A damaged member (bad CRC) stops the merge half-way; what was written is removed."""
    broken = tmp_path / "broken.zip"
    broken.write_bytes(flip_byte(HANTA.read_bytes()))
    out = tmp_path / "m.zip"
    out.write_bytes(b"stale")
    with pytest.raises(zipfile.BadZipFile, match="Bad CRC-32 for file 'ncbi_dataset/data/genomic"):
        merge_packages([ROTA, broken], out)
    assert not out.exists()


def test_members_past_the_zip64_limit_get_zip64_headers(tmp_path, monkeypatch):
    """Sizes are unknown until written: a member that may pass the limit is zip64 up front."""
    monkeypatch.setattr(zipfile, "ZIP64_LIMIT", 3000)  # README (1,593 B) stays below it
    merge_packages([ROTA, ALL_MEMBERS], tmp_path / "m.zip")
    with zipfile.ZipFile(tmp_path / "m.zip") as zf:
        zip64 = {i.filename for i in zf.infolist() if i.extra[:2] == b"\x01\x00"}
        assert zf.testzip() is None
    assert DATA + "genomic.fna" in zip64 and "README.md" not in zip64
    with open_package(tmp_path / "m.zip") as package:
        assert package.verify()
        assert package.table("genomes").num_rows == 32 + 5


def test_merge_needs_a_package():
    with pytest.raises(ValueError):
        merge_packages([], "never.zip")
