"""docs/nextstrain.md: every `sh` block runs as written on a real package, and its outputs
equal what the Nextstrain ingest takes from the same package (members and raw JSON).

`augur curate passthru` runs on them when nextstrain-augur is installed (the `augur` extra,
which `make test` installs); those checks are skipped without it.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REAL, zip_members

REPO = Path(__file__).resolve().parent.parent
DOC = REPO / "docs" / "nextstrain.md"
PACKAGE = next(p for p in REAL if "Hantavirus" in p.name)
DATA = "ncbi_dataset/data"
BIN = Path(sys.executable).parent


def blocks(kind: str) -> list[str]:
    return re.findall(rf"```{kind}\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)


@pytest.fixture(scope="module")
def ran(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("nextstrain")
    shutil.copy(PACKAGE, work / "ncbi_dataset.zip")
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    for block in blocks("sh"):
        child = subprocess.run(["bash", "-euo", "pipefail", "-c", block], cwd=work, env=env,
                               capture_output=True, text=True, timeout=120)
        assert child.returncode == 0, f"{block}\n{child.stderr}"
    return work


def records() -> list[dict]:
    data = zip_members(PACKAGE)[f"{DATA}/data_report.jsonl"].decode()
    return [json.loads(line) for line in data.splitlines() if line.strip()]


def sequences() -> dict[str, str]:
    out = {}
    for chunk in zip_members(PACKAGE)[f"{DATA}/genomic.fna"].decode().split(">")[1:]:
        header, *lines = chunk.split("\n")
        out[header.split()[0]] = "".join(lines)
    return out


def test_the_page_has_the_commands():
    assert len(blocks("sh")) == 4


def test_fasta_equals_the_member_as_unzip_gives_it(ran):
    assert (ran / "raw/genome_sequences.fna").read_bytes() == \
        zip_members(PACKAGE)[f"{DATA}/genomic.fna"]


def test_fasta_ids_only_one_line(ran):
    expected = "".join(f">{acc}\n{seq}\n" for acc, seq in sequences().items())
    assert (ran / "data/genome_sequences.fna").read_text() == expected


def test_metadata_cells_equal_the_json(ran):
    with open(ran / "data/metadata.tsv", newline="") as fh:
        rows = list(csv.reader(fh, delimiter="\t"))
    assert rows[0] == ["accession", "isolate-collection-date", "geo-location", "geo-region",
                       "isolate-lineage", "release-date", "submitter-affiliation",
                       "submitter-names"]
    doc_line = blocks("text")[0].splitlines()[1]
    assert "\t".join(rows[1]) == doc_line  # the page shows the real output
    for row, r in zip(rows[1:], records(), strict=True):
        loc, iso, sub = r.get("location", {}), r.get("isolate", {}), r.get("submitter", {})
        assert row == [r["accession"], iso.get("collectionDate", ""),
                       loc.get("geographicLocation", ""), loc.get("geographicRegion", ""),
                       iso.get("name", ""), r["releaseDate"], sub.get("affiliation", ""),
                       ",".join(sub.get("names", []))]


def ndjson(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_ndjson_records_equal_the_json_and_the_fasta(ran):
    seqs = sequences()
    keep = [r for r in records() if r["completeness"] == "COMPLETE" or "location" in r]
    got = ndjson(ran / "data/genomes.ndjson")
    assert 0 < len(keep) < len(records())
    assert [g["accession"] for g in got] == [r["accession"] for r in keep]
    for g, r in zip(got, keep, strict=True):
        assert g["accession_unversioned"] == r["accession"].split(".")[0]
        assert g["sequence"] == seqs[r["accession"]]
        assert g["release_date"] == r["releaseDate"][:10]
        assert g["submitter_names"] == r.get("submitter", {}).get("names")
        assert g["geo_location"] == r.get("location", {}).get("geographicLocation")
    shown = blocks("text")[1].strip()
    assert shown.split('"sequence":')[0] == json.dumps(got[0], separators=(",", ":")).split(
        '"sequence":')[0]


def augur() -> str:
    found = shutil.which("augur", path=str(BIN)) or shutil.which("augur")
    if not found:
        pytest.skip("nextstrain-augur is not installed (pip install -e '.[augur]')")
    return found


def test_augur_curate_passthru_takes_the_ndjson_unchanged(ran):
    data = (ran / "data/genomes.ndjson").read_bytes()
    child = subprocess.run([augur(), "curate", "passthru"], input=data, capture_output=True,
                           timeout=300)
    assert child.returncode == 0, child.stderr.decode()
    assert [json.loads(x) for x in child.stdout.splitlines()] == ndjson(
        ran / "data/genomes.ndjson")


def test_augur_joins_vpkg_tsv_and_fasta_as_in_the_ingest(ran):
    child = subprocess.run(
        [augur(), "curate", "passthru", "--metadata", "data/metadata.tsv", "--fasta",
         "data/genome_sequences.fna", "--seq-id-column", "accession", "--seq-field",
         "sequence", "--unmatched-reporting", "error_all", "--duplicate-reporting",
         "error_all"], cwd=ran, capture_output=True, text=True, timeout=300)
    assert child.returncode == 0, child.stderr
    got = [json.loads(line) for line in child.stdout.splitlines()]
    seqs = sequences()
    assert [g["accession"] for g in got] == [r["accession"] for r in records()]
    for g, r in zip(got, records(), strict=True):
        assert g["sequence"] == seqs[r["accession"]]
        assert g["release-date"] == r["releaseDate"]
        assert g["submitter-affiliation"] == r.get("submitter", {}).get("affiliation", "")
