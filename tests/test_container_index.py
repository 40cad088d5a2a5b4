"""The deflate access-point index (vpkg.container.index): ranges decoded from access points,
moved to record starts, join up to the member byte for byte; the index is cached and checked.

Members are real FASTA records and real report lines (fixtures/samples), repeated to span
several access points; expected values come from the files themselves and from zipfile.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from itertools import pairwise

import pytest
from conftest import REAL, SAMPLES

from vpkg.errors import IntegrityError, MemberNotFoundError, PackageError

pytest.importorskip("rapidgzip")
from vpkg.container.index import (  # noqa: E402
    FASTA,
    LINES,
    build_index,
    member_extent,
    record_range,
)
from vpkg.readers import fasta  # noqa: E402

GENOMES = (SAMPLES / "genomic.v1_sars-cov-2.5.fna").read_bytes()  # 5 real genomes
REPORT = (SAMPLES / "data_report.diverse_40_viruses.jsonl").read_bytes()  # 40 real lines
COPIES = 40
SPACING = 256 << 10  # output bytes between access points: several points per member


@pytest.fixture(scope="module")
def package(tmp_path_factory):
    path = tmp_path_factory.mktemp("index") / "big.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("ncbi_dataset/data/genomic.fna", GENOMES * COPIES)
        zf.writestr("ncbi_dataset/data/data_report.jsonl", REPORT * COPIES)
        zf.writestr("ncbi_dataset/data/stored.txt", b"x" * 1000, zipfile.ZIP_STORED)
    return path


def ranges(index, parts, marker):
    cuts = index.split(parts)
    out = []
    for a, b in pairwise(cuts):
        with record_range(index, a, b, marker) as part:
            out.append(part.read())
    return out


@pytest.mark.parametrize("parts", [2, 3, 5])
def test_fasta_ranges_join_to_the_member(package, parts):
    index = build_index(package, "ncbi_dataset/data/genomic.fna", spacing=SPACING)
    assert len(index.points) > parts  # the member really spans several access points
    pieces = ranges(index, parts, FASTA)
    assert len(pieces) == parts
    assert b"".join(pieces) == GENOMES * COPIES
    headers = [line[1:].split(b" ")[0].decode() for line in GENOMES.splitlines()
               if line.startswith(b">")]
    parsed = []
    for piece in pieces:  # each range parses on its own, from its first '>'
        assert piece.startswith(b">")
        for batch in fasta.genome_batches(io.BytesIO(piece), "range", 1000):
            parsed += batch.column("accession").to_pylist()
    assert parsed == headers * COPIES


def test_report_ranges_are_whole_lines(package):
    index = build_index(package, "ncbi_dataset/data/data_report.jsonl", spacing=SPACING)
    pieces = ranges(index, 4, LINES)
    assert b"".join(pieces) == REPORT * COPIES
    accessions = []
    for piece in pieces:
        assert piece.endswith(b"\n")
        accessions += [json.loads(line)["accession"] for line in piece.splitlines()]
    assert accessions == [json.loads(line)["accession"] for line in REPORT.splitlines()] * COPIES


def test_nominal_offsets_anywhere_still_join(package):
    index = build_index(package, "ncbi_dataset/data/genomic.fna", spacing=SPACING)
    size = index.extent.size
    cuts = [0, 12345, 12346, size // 2 + 7, size - 10, size]  # not at access points
    pieces = []
    for a, b in pairwise(cuts):
        with record_range(index, a, b) as part:
            pieces.append(part.read())
    assert b"".join(pieces) == GENOMES * COPIES
    assert all(p == b"" or p.startswith(b">") for p in pieces)


def test_real_ncbi_zip_layout(real_zip, tmp_path):
    """NCBI's local headers (extra fields, data descriptors) are skipped exactly."""
    with zipfile.ZipFile(real_zip) as zf:
        expected = zf.read("ncbi_dataset/data/genomic.fna")
    # the index goes to tmp_path: nothing is written beside the fixtures
    index = build_index(real_zip, "ncbi_dataset/data/genomic.fna", cache_dir=tmp_path)
    with record_range(index, 0, index.extent.size) as whole:
        assert whole.read() == expected


def test_index_is_cached_and_rebuilt_when_the_zip_changes(package, monkeypatch):
    first = build_index(package, "ncbi_dataset/data/genomic.fna", spacing=SPACING)
    assert first.path.parent == package.parent / "big.zip.vpkg-index"
    import vpkg.container.index as ci

    monkeypatch.setattr(ci, "_rapidgzip", lambda: pytest.fail("rebuilt a current index"))
    assert build_index(package, "ncbi_dataset/data/genomic.fna", spacing=SPACING) == first
    monkeypatch.undo()
    stat = os.stat(package)
    os.utime(package, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    calls = []
    real = ci._rapidgzip
    monkeypatch.setattr(ci, "_rapidgzip", lambda: calls.append(1) or real())
    again = build_index(package, "ncbi_dataset/data/genomic.fna", spacing=SPACING)
    assert calls and again.points == first.points


def test_damaged_member_and_bad_requests(tmp_path, package):
    damaged = tmp_path / "damaged.zip"
    data = bytearray(package.read_bytes())
    extent = member_extent(package, "ncbi_dataset/data/genomic.fna")
    data[extent.data_offset + extent.compressed_size // 2] ^= 0x55
    damaged.write_bytes(bytes(data))
    with pytest.raises(IntegrityError, match=rf"^{damaged}: ncbi_dataset/data/genomic.fna "):
        build_index(damaged, "ncbi_dataset/data/genomic.fna", spacing=SPACING)
    assert not (tmp_path / "damaged.zip.vpkg-index" / "genomic.fna.json").exists()
    with pytest.raises(PackageError, match="stored.txt is not deflated"):
        build_index(package, "ncbi_dataset/data/stored.txt")
    with pytest.raises(MemberNotFoundError, match="no member 'nope'"):
        build_index(REAL[0], "nope")


def test_module_example_runs():
    import doctest

    import vpkg.container.index

    result = doctest.testmod(vpkg.container.index)
    assert result.attempted >= 5 and result.failed == 0
