"""Sequence tables against a plain reading of the FASTA (Biopython's SimpleFastaParser)."""

from __future__ import annotations

import io

import pytest
from Bio.SeqIO.FastaIO import SimpleFastaParser
from conftest import SAMPLES, build_dir, zip_members

import vpkg
from vpkg.errors import FormatError, VpkgError
from vpkg.readers import fasta


def plain(raw: bytes) -> list[tuple[str, str]]:
    return list(SimpleFastaParser(io.StringIO(raw.decode())))


def test_every_real_genome_sequence_is_byte_exact(real_zip):
    raw = zip_members(real_zip)["ncbi_dataset/data/genomic.fna"]
    expected = plain(raw)
    table = vpkg.open_package(real_zip).table("genome_sequences")
    assert table.num_rows == len(expected) == raw.count(b"\n>") + 1
    rows = table.to_pylist()
    for row, (title, seq) in zip(rows, expected, strict=True):
        accession, _, description = title.partition(" ")
        assert row["accession"] == accession
        assert row["description"] == description
        assert row["sequence"] == seq
        assert row["length"] == len(seq)


def test_genome_sequences_join_the_report_on_accession(real_zip):
    pkg = vpkg.open_package(real_zip)
    genomes = {r["accession"]: r["length"] for r in pkg.table("genomes").to_pylist()}
    for row in pkg.table("genome_sequences").to_pylist():
        assert genomes[row["accession"]] == row["length"]


def test_v1_genomic_sample(tmp_path):
    raw = (SAMPLES / "genomic.v1_sars-cov-2.5.fna").read_bytes()
    pkg = vpkg.open_package(build_dir(tmp_path, {"genomic.fna": raw}))
    rows = pkg.table("genome_sequences").to_pylist()
    assert [(r["accession"] + " " + r["description"], r["sequence"]) for r in rows] == plain(raw)


def read(raw: bytes, table: str = "genome_sequences", batch_size: int = 1000):
    member = {"genome_sequences": "genomic.fna", "cds_sequences": "cds.fna",
              "protein_sequences": "protein.faa"}[table]
    return list(fasta_rows(raw, member, table, batch_size))


def fasta_rows(raw, member, table, batch_size):
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        pkg = vpkg.open_package(build_dir(Path(tmp), {member: raw}))
        yield from pkg.reader(table, batch_size=batch_size).read_all().to_pylist()


def test_crlf_blank_lines_lowercase_iupac_and_empty_records():
    raw = (b">a first one\r\nACGTnnRYKM\r\nacgt\r\n\r\n>b\n>c  spaced  title \n"
           b"ACGT\n\n\nTT\n>d\nAC")
    rows = read(raw)
    assert [(r["accession"], r["description"], r["sequence"], r["length"]) for r in rows] == [
        ("a", "first one", "ACGTnnRYKMacgt", 14),
        ("b", None, "", 0),
        ("c", "spaced  title", "ACGTTT", 6),
        ("d", None, "AC", 2),
    ]


def test_bom_and_leading_blank_lines_are_accepted():
    rows = read(b"\xef\xbb\xbf\n\n>x desc\nAC\n")
    assert [(r["accession"], r["sequence"]) for r in rows] == [("x", "AC")]


def test_text_before_the_first_header_is_an_error():
    with pytest.raises(FormatError, match="genomic.fna line 1: expected a FASTA header"):
        read(b"hello\n>x\nAC\n")


def test_records_spanning_blocks(monkeypatch):
    monkeypatch.setattr(fasta, "BLOCK", 7)
    raw = b">one first\nACGTACGTAC\nGG\n>two\nTTTT\n>three x\n" + b"A" * 50 + b"\n"
    rows = read(raw, batch_size=2)
    assert [(r["accession"], r["sequence"]) for r in rows] == [
        ("one", "ACGTACGTACGG"), ("two", "TTTT"), ("three", "A" * 50)]


def test_batches_are_bounded_by_bytes(monkeypatch, tmp_path):
    raw = b">a\nAAAAAA\n>b\nCCCCCC\n>c\nGG\n"
    monkeypatch.setattr(fasta, "MAX_BATCH_BYTES", 10)  # feature tables: bytes of sequence
    pkg = vpkg.open_package(build_dir(tmp_path, {"cds.fna": raw}))
    assert [b.num_rows for b in pkg.reader("cds_sequences", batch_size=100)] == [2, 1]
    monkeypatch.setattr(fasta, "BLOCK", 20)  # genomes: a batch is a block's whole records
    pkg = vpkg.open_package(build_dir(tmp_path / "g", {"genomic.fna": raw}))
    batches = list(pkg.reader("genome_sequences", batch_size=100))
    assert [b.column("accession").to_pylist() for b in batches] == [["a"], ["b", "c"]]


def test_protein_headers_from_a_real_package(tmp_path):
    raw = (SAMPLES / "protein.v1_sars-cov-2_MT745738.faa").read_bytes()
    rows = read(raw, "protein_sequences")
    expected = plain(raw)
    assert len(rows) == len(expected) == 38
    first = rows[0]
    # >QLG76863.1:1-180 leader protein [polyprotein=ORF1ab polyprotein] [organism=...] ...
    assert first["id"] == "QLG76863.1:1-180"
    assert first["accession"] == "QLG76863.1"
    assert first["ranges"] == [{"begin": 1, "end": 180, "complement": False}]
    assert first["name"] == "leader protein"
    assert first["organism"] == "Severe acute respiratory syndrome coronavirus 2"
    assert first["isolate"] == "SARS-CoV-2/human/AUS/VIC2161/2020"
    assert dict(first["header_fields"])["polyprotein"] == "ORF1ab polyprotein"
    for row, (title, seq) in zip(rows, expected, strict=True):
        assert f"{row['id']} {row['description']}" == title
        assert row["sequence"] == seq and row["length"] == len(seq)


def test_every_real_protein_header_parses():
    headers = (SAMPLES / "protein_headers.v1_sars-cov-2.txt").read_text().splitlines()
    raw = "".join(f"{h}\nM\n" for h in headers if h.startswith(">")).encode()
    rows = read(raw, "protein_sequences", batch_size=500)
    assert len(rows) == sum(h.startswith(">") for h in headers) == 3783
    for row, header in zip(rows, [h for h in headers if h.startswith(">")], strict=True):
        identifier = header[1:].split(" ", 1)[0]
        assert row["id"] == identifier
        assert row["accession"] == identifier.split(":")[0]
        assert row["organism"] in header and f"[organism={row['organism']}]" in header
        begin, end = identifier.split(":")[1].split("-")
        assert row["ranges"][0]["begin"] == int(begin) and row["ranges"][-1]["end"] == int(end)


def test_cds_ids_with_joined_ranges():
    raw = (b">MT745738.1:254-13456,13456-21543 ORF1ab polyprotein [organism=Severe acute "
           b"respiratory syndrome coronavirus 2] [isolate=SARS-CoV-2/human/AUS/VIC2161/2020]\n"
           b"ATG\n>NC_045512.2:28274-29533 nucleocapsid phosphoprotein [organism=Severe acute "
           b"respiratory syndrome coronavirus 2] [isolate=Wuhan-Hu-1]\nATGTCT\n"
           b">XX_1.1:c500-100 minus strand gene\nTTT\n>odd_id_without_range\nA\n")
    rows = read(raw, "cds_sequences")
    assert rows[0]["accession"] == "MT745738.1"
    assert rows[0]["ranges"] == [
        {"begin": 254, "end": 13456, "complement": False},
        {"begin": 13456, "end": 21543, "complement": False},
    ]
    assert rows[0]["name"] == "ORF1ab polyprotein"
    assert rows[1]["isolate"] == "Wuhan-Hu-1"
    assert rows[1]["ranges"] == [{"begin": 28274, "end": 29533, "complement": False}]
    assert rows[2]["ranges"] == [{"begin": 500, "end": 100, "complement": True}]
    assert rows[2]["header_fields"] is None and rows[2]["name"] == "minus strand gene"
    assert rows[3]["accession"] == "odd_id_without_range" and rows[3]["ranges"] is None


def test_non_utf8_sequence_is_a_format_error():
    with pytest.raises(VpkgError, match="not UTF-8"):
        read(b">a\nAC\xff\xfeGT\n")


def test_a_record_beyond_the_size_limit_is_refused(monkeypatch):
    monkeypatch.setattr(fasta, "BLOCK", 16)
    monkeypatch.setattr(fasta, "MAX_RECORD_BYTES", 64)
    assert [r["length"] for r in read(b">ok\n" + b"A" * 40 + b"\n")] == [40]
    with pytest.raises(FormatError, match="longer than"):
        read(b">big\n" + b"A" * 200 + b"\n")


def test_protein_stop_and_unknown_residues_are_kept():
    raw = b">P1.1:1-5 p [organism=x]\nMK*Xb\nz*\n>P2.1 q\n*\n"
    rows = read(raw, "protein_sequences")
    assert [(r["accession"], r["sequence"], r["length"]) for r in rows] == [
        ("P1.1", "MK*Xbz*", 7), ("P2.1", "*", 1)]
