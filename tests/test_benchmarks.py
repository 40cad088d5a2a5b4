"""The benchmark generator and runner work, on a tiny package (no timing is checked here)."""

from __future__ import annotations

import hashlib
import json
import sys
import zipfile
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(BENCH))

import generate  # noqa: E402
import run  # noqa: E402

import vpkg  # noqa: E402


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("bench") / "tiny"
    generate.generate(out, genomic_mb=0.3, report_mb=0.4, seed=7, shapes_mb=0.05)
    return out


def test_the_package_looks_like_ncbi_s(tiny):
    zip_path = tiny.with_suffix(".zip")
    with zipfile.ZipFile(zip_path) as zf:
        infos = zf.infolist()
        assert [i.filename for i in infos] == [
            "README.md", "ncbi_dataset/data/data_report.jsonl", "ncbi_dataset/data/genomic.fna",
            "ncbi_dataset/data/virus_dataset.md", "ncbi_dataset/data/dataset_catalog.json",
            "md5sum.txt"]
        for info in infos:  # deflate, data descriptors, a ZIP64 extra on every entry
            assert info.compress_type == zipfile.ZIP_DEFLATED and info.flag_bits & 0x08
            assert info.extra[:2] == b"\x01\x00"
            assert zf.read(info) == (tiny / info.filename).read_bytes()
    fasta = (tiny / "ncbi_dataset/data/genomic.fna").read_bytes()
    assert max(len(line) for line in fasta.splitlines() if line[:1] != b">") == 70
    assert 0.3 * (1 << 20) <= len(fasta) < 0.4 * (1 << 20)
    pkg = vpkg.open_package(zip_path)
    pkg.verify()  # md5sum.txt and the CRCs agree
    genomes = pkg.table("genomes")
    sequences = pkg.table("genome_sequences")
    assert genomes.column("extra").null_count == genomes.num_rows  # no unknown fields
    lengths = dict(zip(genomes.column("accession").to_pylist(),
                       genomes.column("length").to_pylist(), strict=True))
    for accession, length in zip(sequences.column("accession").to_pylist(),
                                 sequences.column("length").to_pylist(), strict=True):
        assert lengths[accession] == length  # the report describes the generated genome
    assert len(set(lengths)) == genomes.num_rows  # fresh, unique accessions


def test_the_same_seed_gives_the_same_bytes(tiny, tmp_path):
    again = generate.generate(tmp_path / "again", genomic_mb=0.3, report_mb=0.4, seed=7)
    digest = hashlib.sha256
    assert digest(again.read_bytes()).digest() == digest(
        tiny.with_suffix(".zip").read_bytes()).digest()


def test_sequences_are_real_ones_with_a_few_substitutions(tiny):
    real, _, _ = generate.real_records()
    pool = {len(seq): seq for _, seq in real}
    rows = vpkg.open_package(tiny).table("genome_sequences").to_pylist()
    for row in rows[:20]:
        seq = row["sequence"].encode()
        template = pool[len(seq)]
        changed = sum(a != b for a, b in zip(seq, template, strict=True))
        assert 0 < changed <= 1 + len(seq) // 5000 or template == seq


def test_the_runner_measures_every_tool_and_writes_json(tiny, tmp_path):
    out = tmp_path / "results.json"
    result = run.main(["--package", str(tiny), "--repeat", "1", "--json", str(out)])
    saved = json.loads(out.read_text())
    assert saved["measurements"].keys() == result["measurements"].keys()
    measured = set(saved["measurements"]) | set(saved["skipped"])
    assert measured == set(run.MEASUREMENTS)
    assert not saved["problems"]  # every tool read the same number of records
    for name, m in saved["measurements"].items():
        assert m["median_s"] > 0 and m["peak_rss_mb"] > 0, name
    assert {t["target"] for t in saved["targets"]} >= {t[3] for t in run.TARGETS}
    assert saved["machine"]["nproc"] >= 1


def test_member_streams_read_the_ncbi_zip_layout(tiny, monkeypatch):
    """Data descriptors and ZIP64 local extras, read through vpkg.container.inflate."""
    from vpkg import container as package

    monkeypatch.setattr(package, "STREAM_SIZE", 0)
    with vpkg.open_package(tiny.with_suffix(".zip")) as from_zip:
        from_zip.verify()
        from_dir = vpkg.open_package(tiny)
        for table in ("genomes", "genome_sequences"):
            assert from_zip.table(table).equals(from_dir.table(table))
