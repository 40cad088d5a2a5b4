"""`vpkg export` of a zip reads each member once: CRCs and md5s are checked while the tables
are written to the staging folder, and nothing is published unless every check passed."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import zipfile
from collections import Counter

import pyarrow.parquet as pq
import pytest
from conftest import REAL, build_zip, zip_members

import vpkg
from vpkg.container import Container
from vpkg.errors import IntegrityError

HANTA = next(p for p in REAL if p.stem == "Hantavirus_Z10")
REPORT = "ncbi_dataset/data/data_report.jsonl"
FNA = "ncbi_dataset/data/genomic.fna"


def opened(monkeypatch) -> Counter:
    counts: Counter = Counter()
    original = Container.open_member

    def counting(self, member):
        counts[member] += 1
        return original(self, member)

    monkeypatch.setattr(Container, "open_member", counting)
    return counts


def test_each_member_is_read_once_and_the_export_is_right(tmp_path, monkeypatch):
    counts = opened(monkeypatch)
    done = vpkg.open_package(HANTA).to_parquet(tmp_path / "out", progress=False)
    members = zip_members(HANTA)
    assert counts[REPORT] == 1 and counts[FNA] == 1  # no verifying pass before the export
    assert set(counts) == set(members)  # the small members are checked too
    assert counts["README.md"] == 1
    assert counts["md5sum.txt"] == 2  # read for its list, then its own md5
    genomes = pq.read_table(done[0].path)
    assert genomes.column("accession").to_pylist() == [
        line.split(b'"accession":"')[1].split(b'"')[0].decode()
        for line in members[REPORT].splitlines()]
    meta = pq.read_schema(done[0].path).metadata
    assert meta[b"vpkg.package_md5"].decode() == hashlib.md5(HANTA.read_bytes()).hexdigest()


def test_the_digests_seen_while_reading_are_the_members(tmp_path):
    from vpkg.container.checked import CheckedReads

    with vpkg.open_package(HANTA) as pkg:
        checked = CheckedReads(pkg)
        for table in pkg.tables():
            for _ in vpkg.sources.Source(checked, table).batches():
                pass
        assert set(checked.digests) == {REPORT, FNA}
        digests = checked.finish()
    for name, content in zip_members(HANTA).items():
        assert digests[name] == hashlib.md5(content).hexdigest(), name


def damaged(tmp_path, member: str, md5_of_original: bool = True):
    """HANTA with ``member`` changed; md5sum.txt keeps the original md5s."""
    members = zip_members(HANTA)
    members[member] = members[member] + b"\n"
    assert md5_of_original
    return build_zip(tmp_path / "damaged.zip", members)


@pytest.mark.parametrize("member, tables", [
    (FNA, None),  # a table member: found while it is read
    (FNA, ["genomes"]),  # a member not exported: read by the final check
    ("ncbi_dataset/data/virus_dataset.md", None),  # a member no table reads
])
def test_an_md5_mismatch_publishes_nothing(tmp_path, member, tables):
    path = damaged(tmp_path, member)
    out = tmp_path / "out"
    out.mkdir()
    (out / "genomes.parquet").write_bytes(b"an earlier export")
    with pytest.raises(IntegrityError, match=f"{member.rsplit('/', 1)[-1]} has md5"):
        vpkg.open_package(path).to_parquet(out, tables=tables, progress=False)
    assert sorted(p.name for p in out.iterdir()) == ["genomes.parquet"]
    assert (out / "genomes.parquet").read_bytes() == b"an earlier export"


def test_a_bad_crc_in_a_member_no_table_reads_publishes_nothing(tmp_path):
    raw = bytearray(HANTA.read_bytes())
    with zipfile.ZipFile(HANTA) as zf:
        info = zf.getinfo("README.md")
    raw[info.header_offset + 30 + len(info.filename) + len(info.extra) + 10] ^= 0x55
    path = tmp_path / "bad.zip"
    path.write_bytes(bytes(raw))
    out = tmp_path / "out"
    result = subprocess.run([sys.executable, "-m", "vpkg", "export", str(path), "-o", str(out),
                             "--no-progressbar"], capture_output=True, text=True)
    assert result.returncode == 1
    assert "README.md" in result.stderr and "Traceback" not in result.stderr
    assert not out.exists()
