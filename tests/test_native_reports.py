"""The native report path (pyarrow.json) gives exactly what the Python path gives.

Every table here is read twice: as vpkg reads it (native wherever exact, Python for the
rest) and by the Python path alone; the two must be equal, value for value, including
``extra``, and damaged input must fail the same way on the same line.
"""

from __future__ import annotations

import json
import os
import random

import pyarrow as pa
import pytest
from conftest import REAL, SAMPLES, build_dir, zip_members
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import vpkg
from vpkg.errors import FormatError
from vpkg.readers import json_arrow as native
from vpkg.readers import report as blocks
from vpkg.readers.derive import add_derived
from vpkg.readers.report import REPEATED, ReportReader, report_batches
from vpkg.schema import GENOME_COLUMNS, GENOME_READ_SCHEMA, schema

SAMPLE_FILES = ["data_report.diverse_40_viruses.jsonl", "data_report.v1_sars-cov-2.20.jsonl",
                "data_report.cchf_8_with_2_fabricated.jsonl"]


def real_lines() -> list[bytes]:
    lines = []
    for path in REAL:
        lines += zip_members(path)["ncbi_dataset/data/data_report.jsonl"].splitlines()
    for name in SAMPLE_FILES[::2]:
        lines += (SAMPLES / name).read_bytes().splitlines()
    return [line for line in lines if line.strip()]


LINES = real_lines()


def read(raw: bytes, native_path: bool, batch_size: int = 7) -> pa.Table:
    import io

    reader = ReportReader("t/data_report.jsonl", GENOME_COLUMNS, GENOME_READ_SCHEMA,
                          native=native_path, dedupe=REPEATED)
    # the derived columns are added as vpkg.readers.report does, so both paths include them
    batches = [add_derived(b) for b in
               report_batches(io.BytesIO(raw), "t/data_report.jsonl", reader, batch_size)]
    assert all(b.num_rows <= batch_size for b in batches)
    return pa.Table.from_batches(batches, schema=schema("genomes"))


def outcome(raw: bytes, native_path: bool):
    try:
        return read(raw, native_path)
    except FormatError as exc:
        return ("FormatError", exc.line, str(exc))


def assert_same(raw: bytes) -> pa.Table | None:
    fast, slow = outcome(raw, True), outcome(raw, False)
    if isinstance(slow, tuple):
        assert fast == slow
        return None
    assert isinstance(fast, pa.Table), fast
    assert fast.schema == slow.schema
    for name in slow.column_names:
        assert fast.column(name).to_pylist() == slow.column(name).to_pylist(), name
    assert fast.equals(slow)
    return fast


@pytest.fixture(autouse=True)
def small_blocks(monkeypatch):
    """Blocks of a few lines, so that seams, halving and the native path all take part."""
    monkeypatch.setattr(blocks, "BLOCK", 6000)
    monkeypatch.setattr(blocks, "MIN_LINES", 2)


def native_rows(raw: bytes) -> int:
    """How many rows the native path read (the rest went through Python)."""
    import io

    count = 0
    original = native.NativeReport._output

    def counting(self, table, values, *extra):
        nonlocal count
        out = original(self, table, values, *extra)
        count += 0 if out is None else out.num_rows
        return out

    native.NativeReport._output = counting
    try:
        reader = ReportReader("t", GENOME_COLUMNS, GENOME_READ_SCHEMA, dedupe=REPEATED)
        list(report_batches(io.BytesIO(raw), "t", reader, 1000))
    finally:
        native.NativeReport._output = original
    return count


def test_real_lines_are_read_natively_and_exactly():
    raw = b"\n".join(LINES) + b"\n"
    table = assert_same(raw)
    assert table.num_rows == len(LINES)
    assert native_rows(raw) == len(LINES)  # real V2 lines never need the Python path


@pytest.mark.parametrize("name", SAMPLE_FILES)
def test_samples(name):
    assert_same((SAMPLES / name).read_bytes())


def test_every_real_package(real_zip):
    assert_same(zip_members(real_zip)["ncbi_dataset/data/data_report.jsonl"])


def test_v1_lines_go_to_the_python_path():
    raw = (SAMPLES / "data_report.v1_sars-cov-2.20.jsonl").read_bytes()
    assert native_rows(raw) == 0
    assert json.loads(assert_same(raw).column("extra")[0].as_py())["molType"]


ODD = [
    # null where pyarrow cannot tell it from absent
    {"isAnnotated": None}, {"host": None}, {"bioprojects": [None]}, {"geneCount": None},
    {"host": {"lineage": [None]}}, {"host": {"lineage": [{"name": None, "taxId": 1}]}},
    # empty objects and lists
    {"host": {}}, {"isolate": {}}, {"host": {"lineage": [{}]}}, {"host": {"lineage": []}},
    {"submitter": {"names": []}}, {"virus": {"lineage": [], "taxId": 5}},
    # keys no column takes, at any depth
    {"brandNew": 1}, {"host": {"rank": "species"}},
    {"host": {"lineage": [{"name": "a", "taxId": 1, "rank": "no rank"}]}},
    {"virus": {"sciName": "V1 style"}}, {"nucleotide": {"sequenceHash": "AB", "x": 1}},
    # values of another type
    {"length": "5"}, {"length": "05"}, {"length": 5.0}, {"length": True},
    {"geneCount": 2 ** 40}, {"isAnnotated": 1}, {"accession": 5}, {"segment": ["a"]},
    {"host": {"taxId": "9606"}}, {"host": {"lineage": {"name": "x"}}},
    {"host": {"lineage": [{"name": "x", "taxId": "1"}]}}, {"bioprojects": "PRJ"},
    # dates
    {"releaseDate": "2020-01-02T13:14:15Z"}, {"releaseDate": "2020-02-30"},
    {"releaseDate": "0000-01-01"}, {"releaseDate": "20200101"},
    {"releaseDate": "2019-W01-1"}, {"updateDate": "2020-01-01"}, {"updateDate": ""},
    # text that looks like syntax
    {"isolate": {"name": "null"}}, {"host": {"organismName": "a]b[c{d}e"}},
    {"host": {"lineage": [{"name": "x]y", "taxId": 1}]}},
    {"host": {"lineage": [{"name": "[x", "taxId": 1}]}},
    {"host": {"lineage": [{"taxId": 1, "name": "reordered"}]}},
    {"isolate": {"name": "caf\u00e9 \U0001f9a0 \u2603"}}, {"segment": "\"lineage\":["},
]


def with_change(line: bytes, change: dict) -> bytes:
    record = json.loads(line)
    for key, value in change.items():
        if isinstance(value, dict) and isinstance(record.get(key), dict):
            record[key] = {**record[key], **value}
        else:
            record[key] = value
    return json.dumps(record, separators=(",", ":"), ensure_ascii=False).encode()


@pytest.mark.parametrize("change", ODD, ids=[json.dumps(c)[:40] for c in ODD])
def test_odd_lines_among_plain_ones(change):
    rng = random.Random(json.dumps(change))
    lines = rng.sample(LINES, 30)
    at = rng.randrange(len(lines))
    lines[at] = with_change(lines[at], change)
    raw = b"\n".join(lines) + b"\n"
    if assert_same(raw) is not None:  # (a line without accession fails both ways)
        assert native_rows(raw) >= 20  # the neighbours keep the native path


@pytest.mark.parametrize("raw", [
    b"\xef\xbb\xbf" + LINES[0] + b"\n" + LINES[1] + b"\n",
    LINES[0] + b"\n\xef\xbb\xbf" + LINES[1] + b"\n",
    LINES[0] + b"\r\n" + LINES[1] + b"\r\n",
    LINES[0] + b"\n\n  \n" + LINES[1] + b"\n",
    LINES[0] + b"\n   " + LINES[1] + b"\n",
    LINES[0] + b" " + LINES[1] + b"\n",
    LINES[0] + b"\n" + LINES[1],
    b"\n".join(LINES[:12]) + b"\n{broken\n" + b"\n".join(LINES[12:24]) + b"\n",
    b"\n".join(LINES[:12]) + b"\n[1, 2]\n" + b"\n".join(LINES[12:24]) + b"\n",
    b"\n".join(LINES[:12]) + b'\n{"length": 5}\n' + b"\n".join(LINES[12:24]) + b"\n",
    b"\n".join(LINES[:12]) + b'\n{"accession":"A\xff"}\n' + b"\n".join(LINES[12:24]) + b"\n",
    b"\n".join(LINES[:12]) + b'\n{"accession":"A\\ud800"}\n' + LINES[12] + b"\n",
    LINES[0].replace(b'"accession":', b'"accession":"X","accession":') + b"\n",
    LINES[3].replace(b',"taxId":', b' , "taxId" : ', 3) + b"\n",
])
def test_line_structure_and_damage(raw):
    assert_same(raw)


@settings(max_examples=int(os.environ.get("VPKG_FUZZ_EXAMPLES", "60")), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, len(LINES) - 1),
                          st.one_of(st.none(), st.sampled_from(ODD))), min_size=1, max_size=40),
       st.integers(1, 50))
def test_random_mixes(picks, batch_size):
    lines = [LINES[i] if change is None else with_change(LINES[i], change)
             for i, change in picks]
    raw = b"\n".join(lines) + b"\n"
    assert_same(raw)
    fast = outcome(raw, True)
    if isinstance(fast, pa.Table):
        assert pa.Table.from_batches(list(read(raw, True, batch_size).to_batches())).equals(fast)


def test_the_package_reader_uses_the_same_path(tmp_path):
    raw = b"\n".join(LINES) + b"\n"
    pkg = vpkg.open_package(build_dir(tmp_path, {"data_report.jsonl": raw}))
    assert pkg.table("genomes").equals(read(raw, False))


def test_prefetch_keeps_order_passes_errors_and_stops_early():
    from vpkg.container.prefetch import prefetch

    assert list(prefetch(iter(range(100)), 3)) == list(range(100))

    def failing():
        yield 1
        raise FormatError("boom", line=7)

    items = prefetch(failing())
    assert next(items) == 1
    with pytest.raises(FormatError, match="boom"):
        next(items)
    with pytest.raises(StopIteration):
        next(items)

    endless = prefetch(iter(lambda: 0, 1))  # never ends: close() must stop the thread
    assert next(endless) == 0
    endless.close()
    assert not endless._thread.is_alive()
