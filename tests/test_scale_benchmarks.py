"""The scale benchmarks run and check what they claim, on small inputs (no timing is checked).

`benchmarks/split_member.py` on a tiny generated package: two ranges that join up to the
member, rows equal to the member's '>' lines. `benchmarks/corpus_parquet.py` on the real
fixture packages: the three conversions agree with the data reports' line counts.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import REAL

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(BENCH))

import generate  # noqa: E402

pytest.importorskip("rapidgzip")


def test_split_member_joins_the_ranges(tmp_path):
    out = tmp_path / "tiny"
    generate.generate(out, genomic_mb=3, report_mb=3, seed=3)
    result = tmp_path / "split.json"
    run = subprocess.run(
        [sys.executable, str(BENCH / "split_member.py"), "--zip", str(out.with_suffix(".zip")),
         "--member", "genomic.fna", "--workers", "2", "--spacing", str(256 << 10),
         "--json", str(result)], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    numbers = json.loads(result.read_text())
    with zipfile.ZipFile(out.with_suffix(".zip")) as zf:
        member = zf.read("ncbi_dataset/data/genomic.fna")
    assert numbers["joined_equals_member"] is True and numbers["crc_matches_zip"] is True
    assert numbers["rows"] == numbers["parallel_rows"] == member.count(b"\n>") + 1
    (a, b), (c, d) = numbers["ranges"]
    assert a == 0 and b == c and d == len(member) and member[b:b + 1] == b">"


@pytest.mark.skipif(shutil.which("java") is None, reason="Spark needs Java")
def test_corpus_parquet_three_ways_agree(tmp_path):
    pytest.importorskip("pyspark")
    result = tmp_path / "corpus.json"
    run = subprocess.run(
        [sys.executable, str(BENCH / "corpus_parquet.py"), "--corpus", str(REAL[0].parent),
         "--jobs", "2", "--per-partition", "3", "--json", str(result)],
        capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr
    numbers = json.loads(result.read_text())
    lines = 0
    for path in REAL:
        with zipfile.ZipFile(path) as zf:
            lines += len(zf.read("ncbi_dataset/data/data_report.jsonl").splitlines())
    assert numbers["packages"] == len(REAL)
    assert numbers["rows"] == {"genomes": lines, "genome_sequences": lines}
    assert numbers["spark-3"]["packages_per_partition"] == 3
