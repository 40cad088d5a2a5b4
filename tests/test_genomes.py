"""The ``genomes`` table against the JSON it comes from: every value kept, nothing invented.

The mapping below is written from ../shared/CONTRACT.md, independently of vpkg/schema.py.
"""

from __future__ import annotations

import datetime as dt
import json

import pyarrow as pa
import pytest
from conftest import REAL, SAMPLES, build_dir, leaves, zip_members

import vpkg

# JSON path (camelCase) -> column, as ../shared/CONTRACT.md states it
SCALARS = {
    ("accession",): "accession",
    ("sourceDatabase",): "source_database",
    ("completeness",): "completeness",
    ("isAnnotated",): "is_annotated",
    ("length",): "length",
    ("geneCount",): "gene_count",
    ("proteinCount",): "protein_count",
    ("maturePeptideCount",): "mature_peptide_count",
    ("segment",): "segment",
    ("releaseDate",): "release_date",
    ("updateDate",): "update_date",
    ("isolate", "collectionDate"): "collection_date",
    ("isolate", "name"): "isolate_name",
    ("isolate", "source"): "isolate_source",
    ("host", "taxId"): "host_tax_id",
    ("host", "organismName"): "host_name",
    ("virus", "taxId"): "virus_tax_id",
    ("virus", "organismName"): "virus_name",
    ("virus", "pangolinClassification"): "pangolin_classification",
    ("location", "geographicLocation"): "geo_location",
    ("location", "geographicRegion"): "geo_region",
    ("location", "usaState"): "usa_state",
    ("biosample",): "biosample",
    ("submitter", "affiliation"): "submitter_affiliation",
    ("submitter", "country"): "submitter_country",
    ("labHost",): "lab_host",
    ("isLabHost",): "is_lab_host",
    ("isVaccineStrain",): "is_vaccine_strain",
    ("nucleotide", "sequenceHash"): "sequence_hash",
}
STRING_LISTS = {
    ("bioprojects",): "bioprojects",
    ("sraAccessions",): "sra_accessions",
    ("submitter", "names"): "submitter_names",
}
LINEAGES = {("host", "lineage"): "host_lineage", ("virus", "lineage"): "virus_lineage"}
# V1 reports name organisms with sciName
V1_NAMES = {("host", "sciName"): "host_name", ("virus", "sciName"): "virus_name"}


def recovered_leaves(row: dict, original: dict) -> dict:
    """Every (path, value) that the row holds, read back through the contract mapping."""
    found = dict(leaves(json.loads(row["extra"]))) if row["extra"] else {}
    for path, column in SCALARS.items():
        value = row[column]
        if isinstance(value, dt.date):
            value = value.isoformat()
        found.setdefault(path, value)
    for path, column in V1_NAMES.items():
        if path[:1] + ("organismName",) not in dict(leaves(original)):
            found.setdefault(path, row[column])
    for path, column in STRING_LISTS.items():
        for i, value in enumerate(row[column] or []):
            found.setdefault((*path, i), value)
    for path, column in LINEAGES.items():
        for i, item in enumerate(row[column] or []):
            found.setdefault((*path, i, "taxId"), item["tax_id"])
            found.setdefault((*path, i, "name"), item["name"])
    return found


def assert_lossless(row: dict, original: dict) -> None:
    found = recovered_leaves(row, original)
    for path, value in leaves(original):
        got = found.get(path)
        if path in (("releaseDate",), ("updateDate",)) and got != value:
            # the date column holds the day; any other time must be kept in extra
            assert value[:10] == got, (path, value, got)
            assert value[10:] in ("", "T00:00:00Z"), (path, value, got)
            continue
        assert got == value, (row["accession"], path, value, got)


def report_lines(raw: bytes) -> list[dict]:
    return [json.loads(line) for line in raw.decode().splitlines() if line.strip()]


def test_every_real_package_loses_nothing(real_zip):
    members = zip_members(real_zip)
    originals = report_lines(members["ncbi_dataset/data/data_report.jsonl"])
    table = vpkg.open_package(real_zip).table("genomes")
    assert table.num_rows == len(originals)
    assert table.column("accession").to_pylist() == [o["accession"] for o in originals]
    for row, original in zip(table.to_pylist(), originals, strict=True):
        assert_lossless(row, original)


@pytest.mark.parametrize(
    "sample",
    [
        "data_report.diverse_40_viruses.jsonl",
        "data_report.v1_sars-cov-2.20.jsonl",
        "data_report.cchf_8_with_2_fabricated.jsonl",
    ],
)
def test_samples_lose_nothing(tmp_path, sample):
    raw = (SAMPLES / sample).read_bytes()
    pkg = vpkg.open_package(build_dir(tmp_path, {"data_report.jsonl": raw}))
    table = pkg.table("genomes")
    originals = report_lines(raw)
    assert table.num_rows == len(originals)
    for row, original in zip(table.to_pylist(), originals, strict=True):
        assert_lossless(row, original)


def test_chosen_values_of_the_sars_cov_2_reference():
    pkg = vpkg.open_package(REAL[-1])
    assert REAL[-1].name == "sars-cov-2_NC_045512.2_2026.zip"
    row = pkg.table("genomes").to_pylist()[0]
    assert row["accession"] == "NC_045512.2"
    assert row["length"] == 29903
    assert row["release_date"] == dt.date(2020, 1, 13)
    assert row["update_date"] == dt.date(2020, 7, 18)
    assert row["collection_date"] == "2019-12"
    assert row["segment"] == "ANONYMOUS"
    assert row["pangolin_classification"] == "B"
    assert row["host_lineage"][-1] == {"tax_id": 9606, "name": "Homo sapiens"}
    assert row["virus_lineage"][0] == {"tax_id": 10239, "name": "Viruses"}
    assert row["sequence_hash"] == "A926D55E"
    assert row["extra"] is None


def test_proto3_absent_values(tmp_path):
    raw = b'{"accession":"X1.1","length":10}\n'
    row = vpkg.open_package(build_dir(tmp_path, {"data_report.jsonl": raw})).table(
        "genomes").to_pylist()[0]
    assert row["is_annotated"] is False
    assert row["is_lab_host"] is False and row["is_vaccine_strain"] is False
    assert row["gene_count"] == 0 and row["protein_count"] == 0
    assert row["mature_peptide_count"] == 0
    assert row["segment"] is None and row["host_lineage"] is None
    assert row["extra"] is None


def test_unknown_fields_and_mismatched_types_go_to_extra(tmp_path):
    line = {
        "accession": "X1.1",
        "brandNewField": {"deep": [1, 2]},
        "host": {"taxId": 9606, "newHostKey": "x", "lineage": [{"taxId": 1, "name": "a",
                                                                  "rank": "no rank"}]},
        "length": "not a number",
        "releaseDate": "2020-01-02T13:14:15Z",
    }
    raw = json.dumps(line).encode() + b"\n"
    row = vpkg.open_package(build_dir(tmp_path, {"data_report.jsonl": raw})).table(
        "genomes").to_pylist()[0]
    extra = json.loads(row["extra"])
    assert extra["brandNewField"] == {"deep": [1, 2]}
    assert extra["host"]["newHostKey"] == "x"
    assert extra["host"]["lineage"] == [{"rank": "no rank"}]
    assert extra["length"] == "not a number" and row["length"] is None
    assert row["release_date"] == dt.date(2020, 1, 2)
    assert extra["releaseDate"] == "2020-01-02T13:14:15Z"
    assert row["host_tax_id"] == 9606
    assert row["host_lineage"] == [{"tax_id": 1, "name": "a"}]


def test_v1_report_uses_sci_name():
    raw = (SAMPLES / "data_report.v1_sars-cov-2.20.jsonl").read_bytes()
    first = report_lines(raw)[0]
    assert "organismName" not in first["virus"]
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        row = vpkg.open_package(build_dir(Path(tmp), {"data_report.jsonl": raw})).table(
            "genomes").to_pylist()[0]
    assert row["virus_name"] == first["virus"]["sciName"]
    assert row["host_name"] == first["host"]["sciName"]
    assert row["release_date"] == dt.date.fromisoformat(first["releaseDate"])
    extra = json.loads(row["extra"])
    assert extra["molType"] == first["molType"]
    assert extra["annotation"] == first["annotation"]


def test_schema_is_fixed_whatever_the_content(tmp_path, real_zip):
    empty = vpkg.open_package(build_dir(tmp_path, {"data_report.jsonl": b""}))
    empty_table = empty.table("genomes")
    assert empty_table.num_rows == 0
    full = vpkg.open_package(real_zip).table("genomes")
    assert empty_table.schema == full.schema
    assert full.schema.field("host_lineage").type == pa.list_(
        pa.field("item", pa.struct([("tax_id", pa.int64()), ("name", pa.string())])))
    assert full.schema.field("release_date").type == pa.date32()
    assert full.schema.field("gene_count").type == pa.int32()
    assert not full.schema.field("accession").nullable


def test_reader_streams_in_batches():
    pkg = vpkg.open_package(next(p for p in REAL if p.stem == "Rotavirus_J"))
    reader = pkg.reader("genomes", batch_size=5)
    sizes = [batch.num_rows for batch in reader]
    assert sizes == [5] * 6 + [2]
    assert pa.Table.from_batches(list(pkg.reader("genomes", batch_size=5))).equals(
        pkg.table("genomes"))


def test_bom_crlf_and_blank_lines(tmp_path):
    raw = b'\xef\xbb\xbf{"accession":"A1.1","length":5}\r\n\r\n   \n{"accession":"B2.1"}\r\n'
    table = vpkg.open_package(build_dir(tmp_path, {"data_report.jsonl": raw})).table("genomes")
    assert table.column("accession").to_pylist() == ["A1.1", "B2.1"]
    assert table.column("length").to_pylist() == [5, None]


@pytest.mark.parametrize("raw, line, what", [
    (b'{"accession":"A1.1"}\n{"accession": "B2.1",\n', 2, "not valid JSON"),
    (b'\n\n[1, 2]\n', 3, "expected a JSON object"),
    (b'{"length": 5}\n', 1, "no accession"),
])
def test_malformed_lines_name_member_and_line(tmp_path, raw, line, what):
    pkg = vpkg.open_package(build_dir(tmp_path, {"data_report.jsonl": raw}))
    with pytest.raises(vpkg.FormatError, match=what) as info:
        pkg.table("genomes")
    assert info.value.line == line
    assert f"data_report.jsonl line {line}:" in str(info.value)


def test_overlong_line_is_refused(tmp_path, monkeypatch):
    from vpkg.readers import jsonl

    monkeypatch.setattr(jsonl, "MAX_LINE_BYTES", 100)
    raw = b'{"accession":"A1.1"}\n{"accession":"' + b"x" * 500 + b'"}\n'
    pkg = vpkg.open_package(build_dir(tmp_path, {"data_report.jsonl": raw}))
    with pytest.raises(vpkg.FormatError, match="line 2: longer than"):
        pkg.table("genomes")
