"""The fast paths give exactly what the exact (record by record, line by line) paths give.

FASTA: `vpkg.readers.fasta_blocks.genome_table` (array operations per block) against
`vpkg.readers.fasta.genome_unit_table` (record by record), on every real genome file, on odd
records and on random ones. The tables are also checked against Biopython's plain reading,
so that both paths are checked against something outside vpkg.

Reports: the native path with keys the schema does not know, and with empty lines, against
the Python path alone (``native=False``); ``extra`` is also checked against ``json.loads`` of
the text that was added.

The corpus test reads every package of ``../shared/realdata/corpus`` and is skipped when
that folder is absent.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path

import pyarrow as pa
import pytest
from Bio.SeqIO.FastaIO import SimpleFastaParser
from conftest import SAMPLES, zip_members
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vpkg.errors import FormatError
from vpkg.readers import fasta, json_arrow
from vpkg.readers.fasta_blocks import genome_table
from vpkg.readers.report import REPEATED, ReportReader, report_batches
from vpkg.schema import GENOME_COLUMNS, GENOME_READ_SCHEMA

CORPUS = Path(__file__).resolve().parents[2] / "shared/realdata/corpus"
FNA = "ncbi_dataset/data/genomic.fna"
SETTINGS = settings(max_examples=int(os.environ.get("VPKG_FUZZ_EXAMPLES", "150")),
                    deadline=None, suppress_health_check=[HealthCheck.too_slow])


def exact(raw: bytes) -> pa.Table:
    return fasta.genome_unit_table(raw, 0, len(raw), "t")


def plain(raw: bytes) -> list[dict]:
    rows = []
    for title, seq in SimpleFastaParser(io.StringIO(raw.decode())):
        accession, _, description = title.partition(" ")
        rows.append({"accession": accession, "description": description or None,
                     "sequence": seq, "length": len(seq)})
    return rows


def test_real_genome_files_give_the_exact_table(real_zip):
    raw = zip_members(real_zip)[FNA]
    fast = genome_table(raw, "t")
    assert fast is not None  # NCBI's headers take the fast path
    assert fast.equals(exact(raw))
    assert fast.to_pylist() == plain(raw)


def test_a_block_inside_a_larger_buffer():
    raw = (SAMPLES / "genomic.v1_sars-cov-2.5.fna").read_bytes()
    padded = b"junk\n" + raw + b">NEXT.1 not in the block\nACGT\n"
    fast = genome_table(padded, "t", 5, 5 + len(raw))
    assert fast.equals(exact(raw))
    assert fast.column("accession").to_pylist() == [
        "MT745738.1", "MT969623.1", "MT969939.1", "MT969961.1", "MT969997.1"]


@pytest.mark.parametrize("raw", [
    b">A1.1\n",  # a header alone
    b">A1.1",  # without a line break
    b">A1.1 t\nAC\nGT",  # a last line without a line break
    b">A1.1 t\n\n>B2.1 u\n\n",  # empty sequences, blank lines
    b">A1.1 t\nAC\n>B2.1\nG\n",  # a header without a title
    b">A1.1 t>u\nA>C\n>>B2.1 x\nG\n",  # '>' inside lines and a header starting '>>'
    b">A1.1 t\nA\xc3\xa9\n",  # a non-ASCII sequence (valid UTF-8)
    b">A1.1 t\n" + b"A" * 200 + b"\n",  # a line longer than usual
])
def test_odd_records_give_the_exact_table(raw):
    fast = genome_table(raw, "t")
    assert fast is not None
    assert fast.equals(exact(raw))


@pytest.mark.parametrize("raw", [
    b">A1.1  two spaces\nAC\n",
    b">A1.1 trailing \nAC\n",
    b"> A1.1 leading\nAC\n",
    b">A1.1\ttab\nAC\n",
    b">A1.1 caf\xc3\xa9\nAC\n",
    b">A1.1 t\r\nAC\r\n",
])
def test_headers_needing_stripping_go_to_the_exact_path(raw):
    assert genome_table(raw, "t") is None
    assert exact(raw).num_rows == 1


def test_bad_bytes_in_a_sequence_are_an_error_on_both_paths():
    raw = b">A1.1 t\nAC\xff\n"
    with pytest.raises(FormatError, match="not UTF-8"):
        genome_table(raw, "t")
    with pytest.raises(FormatError, match="not UTF-8"):
        exact(raw)


@st.composite
def records(draw) -> bytes:
    text = st.text(st.sampled_from("AB .:|-_>xyz\t\xe9"), max_size=12)
    out = []
    for _ in range(draw(st.integers(1, 8))):
        header = draw(st.text(st.sampled_from("AB1.2_"), min_size=1, max_size=6))
        title = draw(text)
        seq = draw(st.text(st.sampled_from("ACGTN>\n"), max_size=40))
        out.append(f">{header}{' ' if title else ''}{title}\n{seq}\n")
    return "".join(out).encode()


@SETTINGS
@given(records())
def test_random_records_give_the_exact_table(raw):
    fast = genome_table(raw, "t")
    if fast is not None:
        assert fast.equals(exact(raw))


def test_the_reader_gives_the_exact_table_across_blocks(monkeypatch):
    raw = b"".join(zip_members(p)[FNA] for p in sorted((SAMPLES.parent / "real").glob("*.zip")))
    whole = exact(raw)
    monkeypatch.setattr(fasta, "BLOCK", 4096)  # many blocks, records cut between them
    batches = list(fasta.genome_batches(io.BytesIO(raw), "t", 2))
    assert max(b.num_rows for b in batches) == 2
    assert pa.Table.from_batches(batches).equals(whole)


@pytest.mark.parametrize("workers", [1, 2, 3])
@pytest.mark.parametrize("kind", ["file", "chunks"])
def test_blocks_parsed_on_a_pool_give_the_exact_table(workers, kind, monkeypatch, tmp_path):
    """Blocks are read into reused buffers while earlier ones are parsed on the pool; records
    are cut between blocks, and some are larger than half a block (their buffer grows). A
    file is read with ``readinto``, other streams (a zip member) by chunks."""
    raw = b"".join(zip_members(p)[FNA] for p in sorted((SAMPLES.parent / "real").glob("*.zip")))
    path = tmp_path / "genomic.fna"
    path.write_bytes(raw)
    monkeypatch.setattr(fasta, "WORKERS", workers)
    monkeypatch.setattr(fasta, "BLOCK", 8192)
    with open(path, "rb") if kind == "file" else io.BytesIO(raw) as stream:
        batches = list(fasta.genome_batches(stream, "t", 1000))
    assert len(batches) > 15
    assert pa.Table.from_batches(batches).equals(exact(raw))


def test_an_error_of_the_reading_comes_after_the_rows_before_it(monkeypatch, tmp_path):
    monkeypatch.setattr(fasta, "WORKERS", 3)
    monkeypatch.setattr(fasta, "BLOCK", 64)
    monkeypatch.setattr(fasta, "MAX_RECORD_BYTES", 200)
    path = tmp_path / "genomic.fna"
    path.write_bytes(b"".join(b">r%d t\nACGT\n" % i for i in range(40)) + b">big\n" + b"A" * 400)
    rows = []
    with open(path, "rb") as fh, pytest.raises(FormatError, match="longer than 200 bytes"):
        for batch in fasta.genome_batches(fh, "t", 1000):
            rows += batch.column("accession").to_pylist()
    assert rows == [f"r{i}" for i in range(40)]


@pytest.mark.skipif(not CORPUS.is_dir(), reason="../shared/realdata/corpus is absent")
def test_the_corpus_gives_the_exact_tables():
    paths = sorted(CORPUS.glob("*.zip"))
    assert len(paths) == 400
    records = 0
    for path in paths:
        with zipfile.ZipFile(path) as zf:
            raw = zf.read(FNA)
        fast = genome_table(raw, str(path))
        assert fast is not None, path.name
        assert fast.equals(exact(raw)), path.name
        records += fast.num_rows
    assert records == 20706  # the corpus README's count


# ---- reports: unknown keys stay on the native path, exactly ------------------------------


def report(raw: bytes, native_path: bool) -> pa.Table:
    # the parsed columns (the derived ones are added after either path: readers/derive.py)
    reader = ReportReader("t", GENOME_COLUMNS, GENOME_READ_SCHEMA, native=native_path,
                          dedupe=REPEATED)
    batches = list(report_batches(io.BytesIO(raw), "t", reader, 1000))
    return pa.Table.from_batches(batches, schema=GENOME_READ_SCHEMA)


def native_share(raw: bytes, monkeypatch) -> int:
    """Rows the native path gave (the rest went through the Python path)."""
    rows = 0
    original = json_arrow.NativeReport._output

    def counting(self, *args):
        nonlocal rows
        out = original(self, *args)
        rows += 0 if out is None else out.num_rows
        return out

    monkeypatch.setattr(json_arrow.NativeReport, "_output", counting)
    report(raw, True)
    return rows


def real_report_lines() -> list[bytes]:
    lines = []
    for path in sorted((SAMPLES.parent / "real").glob("*.zip")):
        lines += zip_members(path)["ncbi_dataset/data/data_report.jsonl"].splitlines()
    return lines


def with_tail(line: bytes, tail: bytes) -> bytes:
    return line[:-1] + b"," + tail + b"}"


@pytest.mark.parametrize("tail", [
    b'"zzNew":{"note":"a field added later","count":3}',
    b'"zzNew":1,"zzOther":["a","b"]',
    b'"zzNew":"caf\xc3\xa9 \xe2\x98\x83","zzDeep":{"a":{"b":[{"c":true},{"c":false}]}}',
    b'"zzNew":{},"zzList":[]',
    b'"zzNew":-0.5,"zzText":"2020-01-01T00:00:00Z"',
])
def test_unknown_top_level_keys_stay_native_and_reach_extra(tail, monkeypatch):
    lines = [with_tail(line, tail) for line in real_report_lines()]
    raw = b"\n".join(lines) + b"\n"
    fast, slow = report(raw, True), report(raw, False)
    assert fast.equals(slow)
    expected = json.dumps(json.loads(b"{" + tail + b"}"), ensure_ascii=False,
                          separators=(",", ":"))
    assert fast.column("extra").to_pylist() == [expected] * len(lines)
    assert native_share(raw, monkeypatch) == len(lines)


@pytest.mark.parametrize("tail", [
    b'"zzNew":1.50',  # pyarrow reads 1.5: the text differs, the Python path decides
    b'"zzNew":123456789012345678901234567890',  # beyond 64 bits
    b'"zzNew":"a\\/b"',  # an escape json.dumps does not write
    b'"zzNew":"\\u00e9"',
    b'"zzNew":[1,"a"]',  # mixed types
    b'"zzX":{"zzA":1e+22},"zzA":10000000000000000000000',  # the piece pyarrow gives is
    b'"zzX":"a","zzA":1.0,"zzB":{"zzA":1.0}',  # elsewhere in the line; 1.0 is written 1.0
])
def test_unknown_values_pyarrow_reads_otherwise_give_the_python_result(tail):
    lines = [with_tail(line, tail) for line in real_report_lines()[:40]]
    raw = b"\n".join(lines) + b"\n"
    fast, slow = report(raw, True), report(raw, False)
    assert fast.equals(slow)
    assert json.loads(fast.column("extra")[0].as_py()) == json.loads(b"{" + tail + b"}")


def test_unknown_key_order_and_repeated_names_follow_the_line():
    line = real_report_lines()[0]
    # the same key name inside a known object (host.name): the piece is found twice
    assert b'{"name":"Viruses","taxId":10239}' in line  # the virus lineage starts so
    odd = [with_tail(line, b'"zzB":2,"zzA":1'), with_tail(line, b'"zzA":1,"zzB":2'),
           with_tail(line, b'"zzX":{"zzA":1},"zzA":1'),
           with_tail(line, b'"zzB":2,"name":"Viruses"')]  # "name":"Viruses" is in the lineage
    raw = b"\n".join(odd) + b"\n"
    fast, slow = report(raw, True), report(raw, False)
    assert fast.equals(slow)
    assert fast.column("extra").to_pylist() == [
        '{"zzB":2,"zzA":1}', '{"zzA":1,"zzB":2}', '{"zzX":{"zzA":1},"zzA":1}',
        '{"zzB":2,"name":"Viruses"}']


def test_empty_lines_give_no_rows_on_both_paths(monkeypatch):
    lines = real_report_lines()[:30]
    raw = b"\n\n\n" + b"\n\n".join(lines) + b"\n" + b"\n" * 5000
    fast, slow = report(raw, True), report(raw, False)
    assert fast.equals(slow) and fast.num_rows == 30
    assert native_share(raw, monkeypatch) == 30
    assert report(b"\n" * 100_000, True).num_rows == 0


def test_a_member_of_empty_objects_fails_on_its_first_line():
    with pytest.raises(FormatError, match="line 1: the record has no accession"):
        report(b"{}\n" * 100_000, True)


@pytest.mark.skipif(not CORPUS.is_dir(), reason="../shared/realdata/corpus is absent")
def test_the_corpus_reports_give_the_exact_tables(monkeypatch):
    raw = b"".join(zipfile.ZipFile(p).read("ncbi_dataset/data/data_report.jsonl")
                   for p in sorted(CORPUS.glob("*.zip")))
    fast, slow = report(raw, True), report(raw, False)
    assert fast.num_rows == 20706
    assert fast.equals(slow)
    assert native_share(raw, monkeypatch) == 20706
    unknown = b"\n".join(with_tail(line, b'"zzNew":{"n":1}') for line in raw.splitlines())
    fast, slow = report(unknown, True), report(unknown, False)
    assert fast.equals(slow)


@pytest.mark.parametrize("module", ["vpkg.readers.fasta_blocks", "vpkg.readers.unknown_keys",
                                    "vpkg.container.checked"])
def test_docstring_examples_run(module, monkeypatch):
    import doctest
    import importlib

    monkeypatch.chdir(Path(__file__).resolve().parent.parent)
    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0 and result.failed == 0


def test_lineage_names_with_brackets_are_still_read_once():
    """A virus named '... B-[Thailand:2007]' (as in the corpus) cuts the lineage text at its
    ']': the codec steps over it instead of giving up on the whole block."""
    line = real_report_lines()[0]
    record = json.loads(line)
    record["virus"]["lineage"][-1]["name"] = "Tomato virus B-[Thailand:2007] [x]"
    odd = json.dumps(record, separators=(",", ":"), ensure_ascii=False).encode()
    raw = b"\n".join([odd, line] * 40) + b"\n"
    reader = ReportReader("t", GENOME_COLUMNS, GENOME_READ_SCHEMA, dedupe=REPEATED)
    encoded = reader.native.encode(raw)
    assert encoded is not None  # tokens were used
    assert b"B-[Thailand" not in encoded[0]
    fast, slow = report(raw, True), report(raw, False)
    assert fast.equals(slow)
    names = [r[-1]["name"] for r in fast.column("virus_lineage").to_pylist()[:2]]
    assert names == ["Tomato virus B-[Thailand:2007] [x]",
                     json.loads(line)["virus"]["lineage"][-1]["name"]]


@pytest.mark.parametrize("workers", [0, 1, 3])
def test_blocks_parsed_on_a_pool_keep_file_order(workers, monkeypatch):
    from vpkg.readers import report as engine

    monkeypatch.setattr(engine, "WORKERS", workers)
    monkeypatch.setattr(engine, "BLOCK", 5000)  # many blocks
    lines = real_report_lines()
    raw = b"\n".join(lines + [with_tail(line, b'"zzNew":1') for line in lines]) + b"\n"
    fast = report(raw, True)
    assert fast.equals(report(raw, False))
    assert fast.column("accession").to_pylist() == [json.loads(x)["accession"]
                                                   for x in lines] * 2


@pytest.mark.parametrize("name, fails", [(b"a\\ud800b", True), (b"\\ud83e\\udda0 virus", False),
                                         (b"\\u00e9", False)])
def test_escapes_in_lineage_names_give_the_python_result(name, fails):
    line = real_report_lines()[0]
    odd = line.replace(b'{"name":"Viruses"', b'{"name":"' + name + b'"', 1)
    assert odd != line
    raw = b"\n".join([odd, line] * 30) + b"\n"
    outcomes = []
    for native_path in (True, False):
        try:
            outcomes.append(report(raw, native_path))
        except FormatError as exc:
            outcomes.append((exc.line, str(exc)))
    if fails:
        assert outcomes[0] == outcomes[1] == (1, outcomes[1][1])
        assert "unpaired surrogate" in outcomes[1][1]
    else:
        assert outcomes[0].equals(outcomes[1])
