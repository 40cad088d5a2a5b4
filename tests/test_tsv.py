"""`vpkg tsv`: every cell equals the raw JSON rendered by the rules of the dataformat reference.

The expectations come from outside the code: the field table (mnemonic, header, JSON path)
is parsed from `fixtures/spec/dataformat.md` (a copy of the reference), the values from the
raw `data_report.jsonl` of each package, the TSV is read back with Python's csv module, and
the header of a `--fields` list is compared with real dataformat output
(`fixtures/samples/dataformat_tsv_virus-genome.tsv`).
"""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import CONSTRUCTED, FIXTURES, REAL, SAMPLES, build_zip, zip_members

from vpkg.cli import main

REPO = Path(__file__).resolve().parent.parent
REFERENCE = FIXTURES / "spec" / "dataformat.md"
REPORT = "ncbi_dataset/data/data_report.jsonl"
V1_CATALOG = (FIXTURES / "catalogs" / "dataset_catalog.v1.json").read_text()
#: enum zero values print empty (reference §4)
ENUM_ZERO = {"UNKNOWN", "PURPOSE_OF_SAMPLING_UNKNOWN"}


def reference_fields() -> list[dict]:
    """The rows of §2 of the reference: mnemonics, header, JSON path, whether an enum."""
    text = REFERENCE.read_text(encoding="utf-8")
    section = text.split("## 2.")[1].split("## 3.")[0]
    rows = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 7 or not cells[0].isdigit():
            continue
        names = re.findall(r"`([a-z-]+)`", cells[1])
        header = re.findall(r"`([^`]+)`", cells[2])[0]
        path = re.findall(r"`([^`]+)`", cells[3])[0].replace("[]", "")
        rows.append({"names": names, "header": header, "path": path.split("."),
                     "enum": "enum" in cells[4]})
    return rows


FIELDS = reference_fields()


def test_the_reference_table_was_read():
    assert len(FIELDS) == 50
    assert FIELDS[7]["names"] == ["geo-state", "geo-usa-state"]  # the unconfirmed one
    assert FIELDS[22]["header"] == "Isolate Collection date"


def lookup(record: dict, path: list[str]):
    node = record
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


def expected(record: dict, field: dict, v1: bool) -> str:
    """A cell by the reference's §4 rules, from the raw JSON record."""
    value = lookup(record, field["path"])
    if value is None and field["path"][-1] == "organismName":
        value = lookup(record, [*field["path"][:-1], "sciName"])  # V1's name, as documented
    if value is None or value is False or value in (0, "0", "", []):
        return ""
    if value is True:
        return "true"
    if isinstance(value, list):
        return ",".join(value)
    if field["enum"] and value in ENUM_ZERO:
        return ""
    return str(value)


def records_of(zip_path: Path) -> list[dict]:
    data = zip_members(zip_path)[REPORT].decode()
    return [json.loads(line) for line in data.splitlines() if line.strip()]


def tsv(capsysbinary, *args: str) -> list[list[str]]:
    assert main(["tsv", *args]) == 0
    text = capsysbinary.readouterr().out.decode()
    return list(csv.reader(io.StringIO(text, newline=""), delimiter="\t"))


def sample_package(tmp_path: Path, sample: str, v1: bool = False) -> Path:
    members = {"data_report.jsonl": (SAMPLES / sample).read_bytes()}
    if v1:
        members["dataset_catalog.json"] = V1_CATALOG
    return build_zip(tmp_path / f"{sample}.zip", members)


PACKAGES = [*REAL, CONSTRUCTED / "sars-cov-2_all_members.constructed.zip"]
SAMPLE_FILES = [("data_report.diverse_40_viruses.jsonl", False),
                ("data_report.cchf_8_with_2_fabricated.jsonl", False),
                ("data_report.v1_sars-cov-2.20.jsonl", True)]


def check_every_cell(rows: list[list[str]], records: list[dict], fields: list[dict], v1: bool):
    assert rows[0] == [f["header"] for f in fields]
    assert len(rows) == len(records) + 1
    for row, record in zip(rows[1:], records, strict=True):
        assert row == [expected(record, f, v1) for f in fields], record["accession"]


@pytest.mark.parametrize("package", PACKAGES, ids=[p.stem for p in PACKAGES])
def test_default_fields_every_cell(package, capsysbinary):
    check_every_cell(tsv(capsysbinary, str(package)), records_of(package), FIELDS, False)


@pytest.mark.parametrize("sample,v1", SAMPLE_FILES, ids=[s for s, _ in SAMPLE_FILES])
def test_default_fields_on_samples_with_every_key(sample, v1, tmp_path, capsysbinary):
    package = sample_package(tmp_path, sample, v1)
    rows = tsv(capsysbinary, str(package))
    check_every_cell(rows, records_of(package), FIELDS, v1)
    filled = {FIELDS[i]["header"] for row in rows[1:] for i, cell in enumerate(row) if cell}
    if v1:  # fields no V2 column holds come from extra
        assert {"Molecule type", "Nucleotide completeness", "Virus Pangolin Classification",
                "Release date"} <= filled
        assert rows[1][FIELDS.index(next(f for f in FIELDS if f["names"] == ["release-date"]))] \
            == records_of(package)[0]["releaseDate"]  # date-only, as in V1 JSON


def test_fields_list_gives_dataformats_header_and_cells(capsysbinary):
    sample = (SAMPLES / "dataformat_tsv_virus-genome.tsv").read_text().splitlines()[0]
    names = ("accession,segment,completeness,length,sourcedb,isolate-lineage,"
             "isolate-collection-date,geo-location,geo-region,host-name,is-lab-host,virus-name,"
             "submitter-names,submitter-country,submitter-affiliation,biosample-acc,"
             "release-date,update-date")  # the --fields list of that real output
    by_name = {n: f for f in FIELDS for n in f["names"]}
    for package in [REAL[0], CONSTRUCTED / "sars-cov-2_all_members.constructed.zip"]:
        rows = tsv(capsysbinary, str(package), "--fields", names)
        assert "\t".join(rows[0]) == sample  # byte for byte the real header
        check_every_cell(rows, records_of(package), [by_name[n] for n in names.split(",")],
                         False)


def test_fields_in_the_order_given_with_both_spellings_and_columns(capsysbinary):
    package = next(p for p in REAL if "Circovirus" in p.name)  # has location.usaState
    rows = tsv(capsysbinary, str(package), "--fields", "geo-usa-state,accession",
               "--fields", "geo-state,collection_date,host_lineage,sra_accessions,is_lab_host",
               "--fields", "accession_unversioned")
    assert rows[0] == ["Geographic State", "Accession", "Geographic State", "collection_date",
                       "host_lineage", "sra_accessions", "is_lab_host", "accession_unversioned"]
    for row, record in zip(rows[1:], records_of(package), strict=True):
        state = record["location"]["usaState"]
        assert row[:3] == [state, record["accession"], state]
        assert row[3] == record.get("isolate", {}).get("collectionDate", "")
        lineage = record.get("host", {}).get("lineage")
        expected_lineage = ([{"tax_id": t["taxId"], "name": t["name"]} for t in lineage]
                            if lineage else None)
        assert (json.loads(row[4]) if row[4] else None) == expected_lineage
        assert row[5] == ",".join(record.get("sraAccessions", []))
        assert row[6] == ("true" if record.get("isLabHost") else "false")
        assert row[7] == record["accession"].rsplit(".", 1)[0]


def test_elide_header_and_several_packages(capsysbinary):
    rows = tsv(capsysbinary, str(REAL[0]), str(REAL[1]), "--fields", "accession",
               "--elide-header")
    assert rows == [[r["accession"]] for p in REAL[:2] for r in records_of(p)]


def odd_record() -> dict:
    record = records_of(REAL[0])[0]
    record["submitter"] = {"affiliation": 'Dept\tof "Virology"\nLab', "names": ['a"b', "c"]}
    record["isolate"] = {"name": 'say "hi"', "collectionDate": "2001"}
    record["newFieldFromNcbi"] = {"deep": [1, 2]}  # unknown to vpkg and to dataformat
    record.setdefault("host", {})["commonName"] = "human\tbeing"  # a field without a genomes column
    record.setdefault("location", {})["newThing"] = "x"
    # keys no real record of the fixtures carries, rendered by the reference's rules:
    record["isComplete"] = True  # a boolean without a genomes column: "true"
    record["completeness"] = "UNKNOWN"  # an enum's zero value: empty
    record["purposeOfSampling"] = "PURPOSE_OF_SAMPLING_BASELINE_SURVEILLANCE"
    record["molType"] = "ssRNA(-)"
    return record


def test_tab_newline_and_quote_round_trip(tmp_path, capsysbinary):
    record = odd_record()
    package = build_zip(tmp_path / "odd.zip", {"data_report.jsonl": json.dumps(record) + "\n"})
    rows = tsv(capsysbinary, str(package))
    check_every_cell(rows, [record], FIELDS, False)
    affiliation = rows[0].index("Submitter Affiliation")
    assert rows[1][affiliation] == 'Dept\tof "Virology"\nLab'
    assert rows[1][rows[0].index("Is Complete")] == "true"
    assert rows[1][rows[0].index("Completeness")] == ""
    raw = (tmp_path / "raw.tsv")
    assert main(["tsv", str(package), "--fields", "submitter-affiliation,host-common-name",
                 "--elide-header"]) == 0
    raw = capsysbinary.readouterr().out.decode()
    assert raw == '"Dept\tof ""Virology""\nLab"\t"human\tbeing"\n'


def test_a_package_with_unknown_fields_still_exports(tmp_path, capsysbinary):
    records = records_of(REAL[1])
    records[0]["brandNewTopLevel"] = True
    records[-1].setdefault("isolate", {})["collectionDateRange"] = {"start": "2001"}
    text = "".join(json.dumps(r) + "\n" for r in records)
    package = build_zip(tmp_path / "new.zip", {"data_report.jsonl": text})
    check_every_cell(tsv(capsysbinary, str(package)), records, FIELDS, False)


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vpkg", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=120)


def test_cli_subprocess_writes_the_tsv():
    child = run_cli("tsv", str(REAL[0]), "--fields", "accession,length")
    assert child.returncode == 0, child.stderr
    rows = list(csv.reader(io.StringIO(child.stdout, newline=""), delimiter="\t"))
    assert rows == [["Accession", "Length"]] + [[r["accession"], str(r["length"])]
                                                for r in records_of(REAL[0])]


def test_unknown_mnemonic_is_one_line_listing_the_valid_ones():
    child = run_cli("tsv", str(REAL[0]), "--fields", "accession,geo_stat,virus-strainn")
    assert child.returncode == 1 and child.stdout == ""
    assert child.stderr.count("\n") == 1 and "Traceback" not in child.stderr
    assert "'geo_stat', 'virus-strainn' not recognized" in child.stderr
    for field in FIELDS:
        assert "|".join(field["names"]) in child.stderr


def test_a_where_duckdb_rejects_keeps_its_message():
    child = run_cli("tsv", str(REAL[0]), "--where", "no_such_column = 1")
    assert child.returncode == 1 and child.stdout == ""
    assert child.stderr.count("\n") == 1
    assert 'Binder Error: Referenced column "no_such_column" not found' in child.stderr


def test_where_filters_genomes(capsysbinary):
    package = next(p for p in REAL if "Hantavirus" in p.name)
    rows = tsv(capsysbinary, str(package), "--fields", "accession", "--where",
               "completeness = 'COMPLETE' AND length > 2000")
    assert rows[1:] == [[r["accession"]] for r in records_of(package)
                        if r["completeness"] == "COMPLETE" and r["length"] > 2000]
    assert len(rows) > 1


def test_docstring_examples_run(monkeypatch):
    import doctest
    import importlib

    monkeypatch.chdir(REPO)
    for name in ["vpkg.sinks.dataformat", "vpkg.sinks.multi", "vpkg.sinks.selection",
                 "vpkg.sinks.fasta", "vpkg.sinks.formats", "vpkg.sinks.lines"]:
        result = doctest.testmod(importlib.import_module(name))
        assert result.attempted > 0 and result.failed == 0, name
