"""Property-based tests of the FASTA and JSON Lines readers (hypothesis).

Valid input round-trips exactly. Corrupted or random input gives a VpkgError (never another
exception, never a hang) or rows, and then the rows are what a plain reading of the same
bytes gives: an independent FASTA split on ``\n>`` and ``json.loads`` of each line, written
here and sharing no code with vpkg. The same properties run for
minutes (outside CI) when VPKG_FUZZ_EXAMPLES is set, e.g.

    VPKG_FUZZ_EXAMPLES=20000 .venv/bin/python -m pytest tests/test_fuzz.py \
        -p no:cacheprovider --hypothesis-seed=20261126

docs/errors.md records those runs.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from conftest import build_dir
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_genomes import assert_lossless

import vpkg
from vpkg.errors import VpkgError

SETTINGS = settings(max_examples=int(os.environ.get("VPKG_FUZZ_EXAMPLES", "150")),
                    deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

# ---- FASTA ------------------------------------------------------------------------------

ID_CHARS = st.characters(min_codepoint=33, max_codepoint=126, exclude_characters=">[]")
SEQ_CHARS = st.sampled_from(list("ACGTUNRYKMSWBDHVacgtunrykmswbdhv-*XEFILPQZ"))
TITLE = st.text(st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Zl", "Zp")),
                max_size=40).map(str.strip)
RECORD = st.tuples(st.text(ID_CHARS, min_size=1, max_size=30), TITLE,
                   st.text(SEQ_CHARS, max_size=300))


def fasta_bytes(records, width: int, newline: bytes, blank: bool) -> bytes:
    out = []
    for identifier, title, seq in records:
        header = f">{identifier} {title}" if title else f">{identifier}"
        out.append(header.encode() + newline)
        for i in range(0, len(seq), width):
            out.append(seq[i:i + width].encode() + newline)
        if blank:
            out.append(newline)
    return b"".join(out)


def read_table(members: dict, table: str) -> list[dict]:
    with tempfile.TemporaryDirectory() as tmp:
        pkg = vpkg.open_package(build_dir(Path(tmp), members))
        return pkg.reader(table, batch_size=7).read_all().to_pylist()


@SETTINGS
@given(st.lists(RECORD, max_size=20), st.integers(1, 90), st.sampled_from([b"\n", b"\r\n"]),
       st.booleans())
def test_fasta_round_trips(records, width, newline, blank):
    rows = read_table({"genomic.fna": fasta_bytes(records, width, newline, blank)},
                      "genome_sequences")
    assert [(r["accession"], r["description"], r["sequence"]) for r in rows] == [
        (i, t or None, s) for i, t, s in records]
    assert [r["length"] for r in rows] == [len(s) for _, _, s in records]


@SETTINGS
@given(st.lists(RECORD, min_size=1, max_size=10), st.sampled_from(["cds_sequences",
                                                                     "protein_sequences"]))
def test_feature_headers_round_trip(records, table):
    member = "cds.fna" if table == "cds_sequences" else "protein.faa"
    rows = read_table({member: fasta_bytes(records, 70, b"\n", False)}, table)
    assert [(r["id"], r["description"], r["sequence"]) for r in rows] == [
        (i, t or None, s) for i, t, s in records]


CORRUPTION = st.lists(st.tuples(st.sampled_from(["flip", "insert", "delete", "truncate"]),
                                st.integers(0, 10_000), st.binary(min_size=1, max_size=8)),
                      min_size=1, max_size=6)


def corrupt(raw: bytes, edits) -> bytes:
    data = bytearray(raw)
    for kind, position, blob in edits:
        at = position % (len(data) + 1)
        if kind == "flip" and data:
            data[at % len(data)] ^= blob[0] or 1
        elif kind == "insert":
            data[at:at] = blob
        elif kind == "delete":
            del data[at:at + len(blob)]
        else:
            del data[at:]
    return bytes(data)


def only_vpkg_errors(members: dict, table: str) -> list[dict] | None:
    try:
        return read_table(members, table)
    except VpkgError:
        return None


def plain_fasta(raw: bytes) -> list[tuple[str, str]]:
    """(first word of the header, sequence without line breaks) of each record."""
    text = raw.removeprefix(b"\xef\xbb\xbf").lstrip(b" \t\r\n")
    records = []
    for chunk in (b"\n" + text).split(b"\n>")[1:]:
        header, _, body = chunk.partition(b"\n")
        first = header.rstrip(b"\r").decode().strip().partition(" ")[0]
        records.append((first, body.replace(b"\n", b"").replace(b"\r", b"").decode()))
    return records


def assert_plain_fasta(rows: list[dict], raw: bytes, table: str) -> None:
    key = "accession" if table == "genome_sequences" else "id"
    assert [(r[key], r["sequence"]) for r in rows] == plain_fasta(raw)
    # length is in bytes, which are the letters of an ASCII sequence
    assert [r["length"] for r in rows] == [len(r["sequence"].encode()) for r in rows]


@SETTINGS
@given(st.lists(RECORD, min_size=1, max_size=8), CORRUPTION,
       st.sampled_from(["genome_sequences", "cds_sequences", "protein_sequences"]))
def test_corrupted_fasta_gives_plain_data_or_vpkg_error(records, edits, table):
    member = {"genome_sequences": "genomic.fna", "cds_sequences": "cds.fna",
              "protein_sequences": "protein.faa"}[table]
    raw = corrupt(fasta_bytes(records, 60, b"\n", False), edits)
    rows = only_vpkg_errors({member: raw}, table)
    if rows is not None:
        assert_plain_fasta(rows, raw, table)


# ---- JSON Lines -------------------------------------------------------------------------

JSON_SCALAR = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70),
                        st.floats(allow_nan=False, allow_infinity=False),
                        st.text(max_size=12))
JSON_VALUE = st.recursive(JSON_SCALAR, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)),
    max_leaves=10)
KNOWN = {
    "sourceDatabase": st.sampled_from(["GenBank", "RefSeq"]),
    "length": st.one_of(st.integers(0, 3_000_000), JSON_VALUE),
    "geneCount": st.one_of(st.integers(0, 2**31 - 1), st.integers(2**31, 2**40)),
    "isAnnotated": st.one_of(st.just(True), JSON_VALUE),
    "releaseDate": st.one_of(st.dates().map(lambda d: d.isoformat() + "T00:00:00Z"),
                             st.text(max_size=25)),
    "isolate": st.fixed_dictionaries({}, optional={
        "name": st.text(max_size=20), "collectionDate": st.text(max_size=10),
        "newKey": JSON_VALUE}),
    "host": st.fixed_dictionaries({}, optional={
        "taxId": st.integers(1, 3_000_000), "organismName": st.text(max_size=20),
        "lineage": st.lists(st.fixed_dictionaries(
            {"taxId": st.integers(1, 10**7), "name": st.text(max_size=10)},
            optional={"rank": st.text(max_size=5)}), max_size=4)}),
    "bioprojects": st.one_of(st.lists(st.text(max_size=10), max_size=3), JSON_VALUE),
}
REPORT = st.fixed_dictionaries(
    {"accession": st.text(min_size=1, max_size=15)},
    optional={**KNOWN, **{f"unknown{i}": JSON_VALUE for i in range(3)}},
)


def no_digit_strings(record: dict) -> bool:
    """Integer columns accept digit strings (protobuf JSON int64): keep those out here."""
    return not (isinstance(record.get("length"), str) and record["length"].strip().lstrip(
        "-").isdigit())


@SETTINGS
@given(st.lists(REPORT.filter(no_digit_strings), max_size=8))
def test_reports_lose_nothing(records):
    raw = "".join(json.dumps(r) + "\n" for r in records).encode()
    rows = read_table({"data_report.jsonl": raw}, "genomes")
    assert [r["accession"] for r in rows] == [r["accession"] for r in records]
    for row, record in zip(rows, records, strict=True):
        assert_lossless(row, json.loads(json.dumps(record)))


def plain_lines(raw: bytes) -> list[dict]:
    """``json.loads`` of every non-blank line (a BOM before the first is allowed)."""
    lines = raw.removeprefix(b"\xef\xbb\xbf").split(b"\n")
    return [json.loads(line) for line in lines if line.strip()]


def annotation_rows(record: dict) -> int:
    """Rows a record gives in ``annotations``: one per CDS, one per gene without CDS."""
    genes = record.get("genes")
    if not isinstance(genes, list):
        return 0
    count = 0
    for gene in genes:
        cds = gene.get("cds") if isinstance(gene, dict) else None
        count += len(cds) if isinstance(cds, list) and cds else 1
    return count


def assert_plain_report(rows: list[dict], raw: bytes, table: str) -> None:
    records = plain_lines(raw)
    if table == "annotations":
        assert len(rows) == sum(annotation_rows(r) for r in records)
        assert [r["accession"] for r in rows] == [
            r["accession"] for r in records for _ in range(annotation_rows(r))]
        return
    assert [r["accession"] for r in rows] == [r["accession"] for r in records]
    if table == "genomes":
        for row, record in zip(rows, records, strict=True):
            assert_lossless(row, record)


@SETTINGS
@given(st.lists(REPORT, min_size=1, max_size=5), CORRUPTION,
       st.sampled_from(["genomes", "biosamples", "annotations"]))
def test_corrupted_reports_give_plain_data_or_vpkg_error(records, edits, table):
    member = {"genomes": "data_report.jsonl", "biosamples": "biosample_report.jsonl",
              "annotations": "annotation_report.jsonl"}[table]
    raw = corrupt("".join(json.dumps(r) + "\n" for r in records).encode(), edits)
    rows = only_vpkg_errors({member: raw}, table)
    if rows is not None:
        assert_plain_report(rows, raw, table)


@SETTINGS
@given(st.binary(max_size=400), st.sampled_from(["genomes", "genome_sequences",
                                                 "biosamples", "annotations"]))
def test_random_bytes_give_plain_data_or_vpkg_error(raw, table):
    member = {"genomes": "data_report.jsonl", "genome_sequences": "genomic.fna",
              "biosamples": "biosample_report.jsonl",
              "annotations": "annotation_report.jsonl"}[table]
    rows = only_vpkg_errors({member: raw}, table)
    if rows is None:
        return
    if table == "genome_sequences":
        assert_plain_fasta(rows, raw, table)
    else:
        assert_plain_report(rows, raw, table)
