"""The report engine's array operations give what the value-by-value code gives.

- `ValueCodec.encode` (numpy and Arrow over the whole block) against `encode_parts` (one
  value at a time): both encoded blocks parse to the same table, on real reports;
- `date_parts` by numpy against `_date_range` (Python's `datetime`) on real collection
  dates and on impossible ones;
- `line_blocks` and `scan` against a plain split of the bytes, whatever the read sizes;
- `vpkg.readers.arrays` against ``pa.array``; reading a report imports no pandas, and
  makes jemalloc pyarrow's pool unless ``ARROW_DEFAULT_MEMORY_POOL`` chose one.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import zipfile
from pathlib import Path

import pyarrow as pa
import pytest
from conftest import SAMPLES, zip_members

from vpkg.errors import FormatError
from vpkg.readers import arrays, derive
from vpkg.readers.report import REPEATED, ReportReader, line_blocks, scan
from vpkg.schema import GENOME_COLUMNS, GENOME_READ_SCHEMA, LINEAGE

CORPUS = Path(__file__).resolve().parents[2] / "shared/realdata/corpus"
REPORT = "ncbi_dataset/data/data_report.jsonl"


def real_report() -> bytes:
    """Reports of 120 corpus packages, or without the corpus, of the real fixtures (8
    packages and the 7 corpus packages of ``fixtures/world``: about 90 lines)."""
    fixtures = sorted((SAMPLES.parent / "real").glob("*.zip")) + sorted(
        (SAMPLES.parent / "world").glob("*.zip"))
    paths = sorted(CORPUS.glob("*.zip"))[:120] or fixtures
    return b"".join(zipfile.ZipFile(p).read(REPORT) for p in paths)


def blocks_of(raw: bytes, size: int) -> list[bytes]:
    lines = raw.splitlines(keepends=True)
    return [b"".join(lines[i:i + size]) for i in range(0, len(lines), size)]


def test_the_vectorised_codec_gives_the_tables_of_the_value_by_value_one(monkeypatch):
    raw = real_report()
    fast = ReportReader("t", GENOME_COLUMNS, GENOME_READ_SCHEMA, dedupe=REPEATED).native
    slow = ReportReader("t", GENOME_COLUMNS, GENOME_READ_SCHEMA, dedupe=REPEATED).native
    for codec in slow.codecs:
        monkeypatch.setattr(codec, "encode", codec.encode_parts)
    calls = []
    for codec in fast.codecs:
        original = codec.encode_parts
        monkeypatch.setattr(codec, "encode_parts", lambda b, f=original: calls.append(1) or f(b))
    blocks = blocks_of(raw, 500 if raw.count(b"\n") > 5000 else 16)
    for block in blocks:
        a, b = fast.encode(block), slow.encode(block)
        assert (a is None) == (b is None)
        if a is not None:
            lines = block.count(b"\n")
            assert fast.parse(block, lines, a).equals(slow.parse(block, lines, b))
    assert len(blocks) > 3 and not calls  # real reports never needed the slow encoder


def test_a_value_without_its_closing_bracket_goes_value_by_value(monkeypatch):
    line = zip_members(sorted((SAMPLES.parent / "real").glob("*.zip"))[0])[REPORT].splitlines()[0]
    cut = line[:line.index(b'"lineage":[') + 11]  # the lineage list starts, the data ends
    reader = ReportReader("t", GENOME_COLUMNS, GENOME_READ_SCHEMA, dedupe=REPEATED)
    codec = reader.native.codecs[0]
    assert codec.encode(line + b"\n") is not None
    calls = []
    monkeypatch.setattr(codec, "encode_parts", lambda b: calls.append(b) or None)
    assert codec.encode(line + b"\n" + cut) is None and len(calls) == 1


def _lineage_lines(raw: bytes, fresh: bool, count: int) -> list[bytes]:
    """``count`` real lines of ``raw`` (repeated as needed); with ``fresh``, each virus
    lineage made a text of its own (a real one, behind a first item named by the line's
    number)."""
    lines = [x for x in raw.splitlines() if b'"virus":{"lineage":[' in x]
    lines = (lines * (count // len(lines) + 1))[:count]
    if not fresh:
        return lines
    out = []
    for i, line in enumerate(lines):
        head, tail = line.split(b'"virus":{"lineage":[', 1)
        out.append(head + b'"virus":{"lineage":[{"name":"x","taxId":%d},' % (i + 1) + tail)
    return out


def test_the_codec_learns_repeated_texts_and_stops_when_they_do_not_repeat():
    from vpkg.readers import interning

    raw = real_report()
    repeated = ReportReader("t", GENOME_COLUMNS, GENOME_READ_SCHEMA, dedupe=REPEATED).native
    lines = _lineage_lines(raw, fresh=False, count=2 * interning.WARMUP)
    for block in blocks_of(b"\n".join(lines) + b"\n", 2000):
        assert repeated.encode(block) is not None
    codec = repeated.codecs[0]
    distinct = {x for line in lines for x in line.split(b'"lineage":[')[1:]}
    assert codec.active and len(codec._rows) <= len(distinct)

    unique = ReportReader("t", GENOME_COLUMNS, GENOME_READ_SCHEMA, dedupe=REPEATED).native
    fresh = _lineage_lines(raw, fresh=True, count=2 * interning.WARMUP)
    blocks = blocks_of(b"\n".join(fresh) + b"\n", 2000)
    for block in blocks:
        unique.encode(block)
    codec = unique.codecs[0]
    # every virus lineage is new: after the warm-up the codec gives blocks back as they are
    assert not codec.active
    assert codec._seen <= interning.WARMUP + 2 * 2000
    assert unique.encode(blocks[-1]) is None  # nothing left to tokenize: read as is


def test_blocks_encoded_on_several_threads_parse_to_the_python_paths_tables():
    from concurrent.futures import ThreadPoolExecutor

    raw = real_report()
    native = ReportReader("t", GENOME_COLUMNS, GENOME_READ_SCHEMA, dedupe=REPEATED).native
    python = ReportReader("t", GENOME_COLUMNS, GENOME_READ_SCHEMA, native=False)
    blocks = blocks_of(raw, 200 if raw.count(b"\n") > 5000 else 8)

    def parsed(block: bytes) -> pa.Table | None:
        return native.parse(block, block.count(b"\n"), native.encode(block))

    with ThreadPoolExecutor(4) as pool:
        tables = list(pool.map(parsed, blocks))
    assert sum(t is not None for t in tables) > len(blocks) // 2
    for block, table in zip(blocks, tables, strict=True):
        if table is not None:
            lines = block.count(b"\n")
            expected = python._python(python.prepare(block, 1, (lines, True)))
            assert table.equals(expected)


def test_numpy_dates_are_pythons():
    texts = [json.loads(x).get("isolate", {}).get("collectionDate")
             for x in real_report().splitlines()]
    texts += ["2019-02-29", "2020-02-29", "1900-02-29", "2000-02-29", "2019-02-30", "2019-04-31",
              "2019-00", "2019-13", "2019-02-00", "0000", "0000-01-01", "0001-01-01", "9999-12",
              "9999-12-31", "2019-1", "19", "", "2019-", "2019\n", " 2019", "2019-02-28T00:00:00Z",
              None]
    rng = random.Random(4)
    texts += [f"{rng.randint(0, 9999):04d}-{rng.randint(0, 13):02d}-{rng.randint(0, 32):02d}"
              for _ in range(2000)]
    assert len({t for t in texts if t}) > 2000
    parts = derive._ascii_date_parts(pa.array(texts, pa.string()))
    assert parts.to_pylist() == [None if t is None else derive._date_range(t) for t in texts]
    assert parts.to_pylist()[texts.index("2020-02-29")]["end"].isoformat() == "2020-02-29"
    assert derive.date_parts(pa.array(["0000", "2019-13"])).null_count == 2  # all null


def test_dates_with_other_digits_go_through_python():
    texts = ["\uff12\uff10\uff11\uff19", "2019-\u0660\u0663", "2019"]  # fullwidth, Arabic-Indic
    got = derive.date_parts(pa.array(texts)).to_pylist()
    assert got[0]["year"] == 2019 and got[1] == {"year": 2019, "precision": "month",
                                                 "start": got[2]["start"].replace(month=3),
                                                 "end": got[2]["start"].replace(month=3, day=31)}


class Chunks:
    def __init__(self, data: bytes, rng: random.Random):
        self.data, self.at, self.rng = data, 0, rng

    def read1(self, n: int) -> bytes:
        size = min(n, self.rng.choice([1, 9, 700, n // 3, n, n]))
        out = self.data[self.at:self.at + size]
        self.at += len(out)
        return out


@pytest.mark.parametrize("seed", range(30))
def test_line_blocks_cut_whole_lines_whatever_the_reads(seed, monkeypatch):
    from vpkg.readers import report as engine

    rng = random.Random(seed)
    monkeypatch.setattr(engine, "BLOCK", rng.choice([16, 300, 4096]))
    pieces = [b"", b"{}", b'{"a":1}', b"x" * 50, b"{" + b"y" * 5000, b"\n"]
    data = b"\n".join(rng.choice(pieces) for _ in range(rng.randint(0, 400)))
    blocks = list(line_blocks(Chunks(data, rng), "t"))
    assert b"".join(b for b, _, _ in blocks) == data
    number = 1
    assert all(block.endswith(b"\n") for block, _, _ in blocks[:-1])
    for block, first, (lines, plain) in blocks:
        split = block.split(b"\n")[:-1] if block.endswith(b"\n") else block.split(b"\n")
        assert first == number and lines == len(split) == scan(block)[0]
        assert plain == all(x.startswith(b"{") for x in split)
        number += lines


@pytest.mark.parametrize("seed", range(30))
def test_line_blocks_of_a_file_cut_whole_lines(seed, monkeypatch, tmp_path):
    from vpkg.readers import report as engine

    rng = random.Random(seed)
    monkeypatch.setattr(engine, "BLOCK", rng.choice([16, 300, 4096]))
    pieces = [b"", b"{}", b'{"a":1}', b"x" * 50, b"{" + b"y" * 5000, b"\n"]
    data = b"\n".join(rng.choice(pieces) for _ in range(rng.randint(0, 400)))
    path = tmp_path / "r.jsonl"
    path.write_bytes(data)
    with open(path, "rb") as stream:
        blocks = list(line_blocks(stream, "t"))
    assert b"".join(b for b, _, _ in blocks) == data
    assert all(block.endswith(b"\n") for block, _, _ in blocks[:-1])
    number = 1
    for block, first, (lines, _) in blocks:
        assert first == number and lines == scan(block)[0]
        number += lines
    assert number - 1 == len(data.splitlines())


def test_a_file_line_longer_than_the_limit_is_named(monkeypatch, tmp_path):
    from vpkg.readers import jsonl
    from vpkg.readers import report as engine

    monkeypatch.setattr(engine, "BLOCK", 64)
    monkeypatch.setattr(jsonl, "MAX_LINE_BYTES", 1000)
    path = tmp_path / "r.jsonl"
    path.write_bytes(b'{"a":1}\n{"a":2}\n{"b":"' + b"z" * 5000 + b'"}\n')
    with open(path, "rb") as stream, pytest.raises(FormatError, match="t line 3: longer"):
        list(line_blocks(stream, "t"))


def test_arrays_are_what_pa_array_gives():
    rows = [json.loads(x)["virus"]["lineage"] for x in real_report().splitlines()[:300]]
    values = [[{"tax_id": e["taxId"], "name": e["name"]} for e in r] for r in rows] + [None, []]
    assert arrays.from_values(values, LINEAGE).equals(pa.array(values, LINEAGE))
    texts = ["é", None, "", "a\u0000b", "\U0001f9a0"]
    assert arrays.strings(texts).equals(pa.array(texts, pa.string()))
    assert arrays.scalar(False, pa.bool_()).equals(pa.scalar(False))
    assert arrays.empty_table(GENOME_READ_SCHEMA).equals(GENOME_READ_SCHEMA.empty_table())


def test_reading_a_report_and_exporting_it_import_no_pandas(tmp_path):
    pytest.importorskip("pandas")
    package = sorted((SAMPLES.parent / "real").glob("*.zip"))[0]
    code = ("import sys, vpkg\n"
            f"pkg = vpkg.open_package({str(package)!r})\n"
            "assert pkg.table('genomes').num_rows > 0\n"
            f"pkg.to_parquet({str(tmp_path)!r}, tables=['genomes'])\n"
            "print('pandas' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("env, pool", [(None, "jemalloc"), ("system", "system")])
def test_reading_makes_jemalloc_the_pool_unless_one_is_chosen(env, pool):
    try:
        pa.jemalloc_memory_pool()
    except NotImplementedError:
        pytest.skip("pyarrow without jemalloc")
    package = sorted((SAMPLES.parent / "real").glob("*.zip"))[0]
    code = ("import pyarrow as pa, vpkg\n"
            f"vpkg.open_package({str(package)!r}).table('genomes')\n"
            "print(pa.default_memory_pool().backend_name)\n")
    environ = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    if env:
        environ["ARROW_DEFAULT_MEMORY_POOL"] = env
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env=environ)
    assert out.stdout.strip() == pool


def test_loading_into_a_warehouse_imports_no_pandas(tmp_path):
    pytest.importorskip("pandas")
    package = sorted((SAMPLES.parent / "real").glob("*.zip"))[0]
    code = ("import sys, vpkg\n"
            f"vpkg.load({str(package)!r}, {str(tmp_path / 'wh.duckdb')!r}, progress=False)\n"
            "print('pandas' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


def test_holds_is_in_at_every_alignment():
    raw = real_report()[:20000]
    assert (b"null" in raw) is arrays.holds(raw, b"null")
    for at in range(9):
        for size in range(at + 4, at + 12):
            data = raw[:size - 4 - at] + b"x" * at + b"null"
            data = data[:size] if len(data) > size else data
            assert arrays.holds(data, b"null") is (b"null" in data)
            clean = data.replace(b"null", b"nul!")
            assert not arrays.holds(clean, b"null")
    assert not arrays.holds(b"nul", b"null") and arrays.holds(b"null", b"null")
