"""Package: zip or directory, members through the catalog, verify(), clear errors."""

from __future__ import annotations

import hashlib
import json
import zipfile

import pytest
from conftest import CONSTRUCTED, REAL, build_dir, build_zip, zip_members

import vpkg
from vpkg.errors import IntegrityError, MemberNotFoundError, PackageError, VpkgError

ALL = CONSTRUCTED / "sars-cov-2_all_members.constructed.zip"
NO_CATALOG = CONSTRUCTED / "sars-cov-2_no_catalog.constructed.zip"
EMPTY = CONSTRUCTED / "empty.constructed.zip"


def extract(path, dest):
    with zipfile.ZipFile(path) as zf:
        zf.extractall(dest)
    return dest


def test_zip_and_extracted_directory_give_equal_tables(real_zip, tmp_path):
    from_zip = vpkg.open_package(real_zip)
    root = extract(real_zip, tmp_path / "pkg")
    for where in (root, root / "ncbi_dataset", root / "ncbi_dataset" / "data"):
        from_dir = vpkg.open_package(where)
        assert from_dir.tables() == from_zip.tables() == ["genomes", "genome_sequences"]
        for table in from_zip.tables():
            assert from_dir.table(table).equals(from_zip.table(table))


def test_all_members_package_holds_every_table():
    pkg = vpkg.open_package(ALL)
    assert pkg.tables() == ["genomes", "genome_sequences", "cds_sequences",
                            "protein_sequences", "annotations", "biosamples"]
    assert pkg.api_version == "V2"
    members = zip_members(ALL)
    for table, member in [("genomes", "data_report.jsonl"),
                          ("biosamples", "biosample_report.jsonl")]:
        expected = sum(1 for line in members[f"ncbi_dataset/data/{member}"].splitlines()
                       if line.strip())
        assert pkg.table(table).num_rows == expected
    # annotations: one row per CDS, and one per gene without CDS, counted in the raw JSON
    expected = 0
    for line in members["ncbi_dataset/data/annotation_report.jsonl"].splitlines():
        for gene in json.loads(line).get("genes", []) if line.strip() else []:
            expected += len(gene.get("cds") or [None])
    assert expected > 0 and pkg.table("annotations").num_rows == expected
    for table, member in [("cds_sequences", "cds.fna"), ("protein_sequences", "protein.faa")]:
        assert pkg.table(table).num_rows == members[f"ncbi_dataset/data/{member}"].count(b">")


def test_members_found_without_a_catalog():
    pkg = vpkg.open_package(NO_CATALOG)
    assert pkg.catalog is None and pkg.api_version is None
    assert pkg.tables() == ["genomes", "genome_sequences", "protein_sequences"]
    assert pkg.table("protein_sequences").num_rows == 76


def test_catalog_points_at_a_member_with_another_name(tmp_path):
    catalog = {"apiVersion": "V2", "assemblies": [{"files": [
        {"filePath": "reports/virus_report.jsonl", "fileType": "DATA_REPORT"},
        {"filePath": "seqs/all.fasta", "fileType": "GENOMIC_NUCLEOTIDE_FASTA"},
    ]}]}
    root = build_dir(tmp_path, {
        "dataset_catalog.json": json.dumps(catalog),
        "reports/virus_report.jsonl": '{"accession":"A1.1"}\n',
        "seqs/all.fasta": ">A1.1 x\nAC\n",
    })
    pkg = vpkg.open_package(root)
    assert pkg.member_for("genomes") == "ncbi_dataset/data/reports/virus_report.jsonl"
    assert pkg.table("genome_sequences").column("sequence").to_pylist() == ["AC"]


def test_missing_member_names_the_file():
    pkg = vpkg.open_package(REAL[0])
    with pytest.raises(MemberNotFoundError, match="protein.faa") as info:
        pkg.table("protein_sequences")
    assert isinstance(info.value, VpkgError) and info.value.member == "protein.faa"
    with pytest.raises(VpkgError, match="unknown table 'nope'"):
        pkg.table("nope")


def test_empty_members_give_empty_tables_with_the_fixed_schema():
    pkg = vpkg.open_package(EMPTY)
    full = vpkg.open_package(ALL)
    for table in ("genomes", "genome_sequences"):
        empty = pkg.table(table)
        assert empty.num_rows == 0
        assert empty.schema == full.table(table).schema


def test_verify_passes_on_every_real_package(real_zip):
    digests = vpkg.open_package(real_zip).verify()
    listed = zip_members(real_zip)["md5sum.txt"].decode().split()
    for digest, name in zip(listed[::2], listed[1::2], strict=True):
        assert digests[name] == digest


def test_verify_on_an_extracted_directory(tmp_path):
    root = extract(ALL, tmp_path / "pkg")
    assert len(vpkg.open_package(root).verify()) == 10
    (root / "ncbi_dataset/data/cds.fna").write_bytes(b">changed\nAC\n")
    with pytest.raises(IntegrityError, match="cds.fna") as info:
        vpkg.open_package(root).verify()
    assert info.value.member == "ncbi_dataset/data/cds.fna"


def test_md5_mismatch_names_the_member(tmp_path):
    members = zip_members(REAL[0])
    members["ncbi_dataset/data/genomic.fna"] = members["ncbi_dataset/data/genomic.fna"].lower()
    path = build_zip(tmp_path / "tampered.zip", members)
    with pytest.raises(IntegrityError, match="genomic.fna has md5 .* md5sum.txt says"):
        vpkg.open_package(path).verify()


def test_member_listed_in_md5sum_but_absent(tmp_path):
    members = zip_members(REAL[0])
    del members["ncbi_dataset/data/genomic.fna"]
    path = build_zip(tmp_path / "short.zip", members)
    with pytest.raises(IntegrityError, match="lists ncbi_dataset/data/genomic.fna"):
        vpkg.open_package(path).verify()


def test_flipped_byte_fails_the_crc(tmp_path):
    raw = bytearray(REAL[0].read_bytes())
    with zipfile.ZipFile(REAL[0]) as zf:
        info = zf.getinfo("ncbi_dataset/data/genomic.fna")
    # the member's data starts after its local header: flip a byte in the middle of it
    offset = info.header_offset + 30 + len(info.filename) + len(info.extra) + 40
    raw[offset] ^= 0xFF
    path = tmp_path / "flipped.zip"
    path.write_bytes(bytes(raw))
    with pytest.raises(IntegrityError, match="genomic.fna"):
        vpkg.open_package(path).verify()


@pytest.mark.parametrize("content, hint", [
    (b"<!DOCTYPE html><html><body>403 Forbidden</body></html>", "HTML page"),
    (b'{"error":"Bad Request","code":400,"message":"Invalid"}', "looks like JSON"),
    (b"", "empty"),
    (b"plain text", "not a zip file"),
])
def test_not_a_zip_says_what_it_looks_like(tmp_path, content, hint):
    path = tmp_path / "ncbi_dataset.zip"
    path.write_bytes(content)
    with pytest.raises(PackageError, match=hint) as info:
        vpkg.open_package(path)
    assert str(path) in str(info.value)


def test_truncated_zip(tmp_path):
    path = tmp_path / "truncated.zip"
    path.write_bytes(REAL[0].read_bytes()[:2000])
    with pytest.raises(PackageError, match="truncated or damaged"):
        vpkg.open_package(path)


def test_missing_path_and_non_package_directory(tmp_path):
    with pytest.raises(PackageError, match="no such file"):
        vpkg.open_package(tmp_path / "nope.zip")
    with pytest.raises(PackageError, match="not an extracted NCBI Datasets package"):
        vpkg.open_package(tmp_path)


def test_md5sum_lines_are_parsed():
    sums = vpkg.open_package(REAL[-1]).md5sums()
    raw = zip_members(REAL[-1])["ncbi_dataset/data/data_report.jsonl"]
    assert sums["ncbi_dataset/data/data_report.jsonl"] == hashlib.md5(raw).hexdigest()


def test_package_closes_its_zip():
    with vpkg.open_package(REAL[0]) as pkg:
        assert pkg.table("genomes").num_rows == 2
        assert "tables=['genomes', 'genome_sequences']" in repr(pkg)
    assert pkg._zip.fp is None  # the file handle is released
