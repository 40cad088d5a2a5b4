"""Long accession lists: split into chunks, one POST each, retried alone, merged atomically.

The server answers each chunk (identified by its accession set) with a different fixture, so
the merged package can be compared with the packages the chunks were made from. Time is fake.
"""

from __future__ import annotations

import hashlib
import random

import pyarrow as pa
import pytest
from conftest import CONSTRUCTED, FIXTURES, zip_members
from ncbi_server import (  # noqa: F401  (fixtures)
    FakeTime,
    error,
    fake_time_fixture,
    flipped,
    ncbi_fixture,
    ok,
    policy_fixture,
    status,
    truncated,
)

import vpkg
from vpkg.cli import main
from vpkg.fetch import DEFAULT_CHUNK_SIZE, RetryPolicy
from vpkg.fetch.chunked import split_accessions
from vpkg.package import open_package

DATA = "ncbi_dataset/data/"
POST_PATH = "/datasets/v2/virus/genome/download"
ACCESSIONS = [f"MN{n:06d}.1" for n in range(10)]
# chunk_size=3 cuts 10 accessions into 4 even chunks: 3, 2, 3, 2
CHUNKS = [ACCESSIONS[0:3], ACCESSIONS[3:5], ACCESSIONS[5:8], ACCESSIONS[8:10]]
PACKAGES = [
    FIXTURES / "real" / "Rotavirus_J.zip",
    CONSTRUCTED / "sars-cov-2_all_members.constructed.zip",
    FIXTURES / "real" / "Hantavirus_Z10.zip",
    FIXTURES / "real" / "sars-cov-2_NC_045512.2_2026.zip",
]


@pytest.fixture(name="chunked")
def chunked_fixture(ncbi):
    """The server with one fixture package per chunk of `ACCESSIONS`."""
    for chunk, package in zip(CHUNKS, PACKAGES, strict=True):
        ncbi.serve(chunk, package)
    return ncbi


def download(tmp_path, policy, **params):
    params = {"chunk_size": 3, "retry_policy": policy, **params}
    return vpkg.download(ACCESSIONS, tmp_path / "out.zip", **params)


def bodies(ncbi) -> list[list[str]]:
    assert ncbi.problems == []
    assert {(r.method, r.raw_target) for r in ncbi.requests} == {("POST", POST_PATH)}
    return [r.json["accessions"] for r in ncbi.requests]


def assert_nothing_left(tmp_path):
    assert list(tmp_path.iterdir()) == []


# ---- splitting -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("total", "size", "sizes"),
    [
        (5, 2, [2, 2, 1]),
        (7, 3, [3, 2, 2]),
        (10, 3, [3, 2, 3, 2]),
        (6, 1, [1] * 6),
        (10_000, 5_000, [5_000, 5_000]),
        (10_001, 5_000, [3_334, 3_334, 3_333]),
        (5, 5, [5]),
        (5, None, [5]),
    ],
)
def test_lists_are_cut_into_few_even_chunks_in_order(total, size, sizes):
    accessions = [f"OQ{n:06d}.1" for n in range(total)]
    chunks = split_accessions(accessions, size)
    assert [len(c) for c in chunks] == sizes
    assert [a for c in chunks for a in c] == accessions


def test_random_lists_never_exceed_the_chunk_size():
    rng = random.Random(7)
    for _ in range(200):
        total, size = rng.randint(1, 300), rng.randint(1, 50)
        accessions = [f"A{n}.1" for n in range(total)]
        chunks = split_accessions(accessions, size)
        assert len(chunks) == -(-total // size)
        assert max(map(len, chunks)) - min(map(len, chunks)) <= 1
        assert [a for c in chunks for a in c] == accessions


def test_spellings_of_one_record_share_a_chunk():
    accessions = ["NC_045512.2", "B1.1", "nc_045512", "C1.1", "NC_045512.1", "D1.1"]
    assert split_accessions(accessions, 2) == [
        ("NC_045512.2", "nc_045512", "NC_045512.1"),  # larger than 2, but never cut
        ("B1.1",),
        ("C1.1", "D1.1"),
    ]


@pytest.mark.parametrize("bad", [0, -1, True, 2.5, "100"])
def test_bad_chunk_size_sends_nothing(ncbi, tmp_path, policy, bad):
    with pytest.raises(vpkg.ParameterError, match="chunk_size must be a positive") as info:
        download(tmp_path, policy, chunk_size=bad)
    assert info.value.parameter == "chunk_size"
    assert ncbi.requests == []
    assert_nothing_left(tmp_path)


def test_lists_up_to_the_chunk_size_are_one_request(ncbi, tmp_path, policy):
    vpkg.download(ACCESSIONS, tmp_path / "a.zip", chunk_size=10, retry_policy=policy)
    vpkg.download(ACCESSIONS, tmp_path / "b.zip", chunk_size=None, retry_policy=policy)
    assert [r.method for r in ncbi.requests] == ["GET", "GET"]
    assert (tmp_path / "a.zip").read_bytes() == ncbi.package.read_bytes()


def test_default_chunk_size_splits_above_5000(ncbi, tmp_path, policy):
    accessions = [f"OQ{n:06d}.1" for n in range(DEFAULT_CHUNK_SIZE + 1)]
    vpkg.download(accessions, tmp_path / "out.zip", retry_policy=policy)
    assert DEFAULT_CHUNK_SIZE == 5000
    assert bodies(ncbi) == [accessions[:2501], accessions[2501:]]
    genomes = zip_members(tmp_path / "out.zip")[DATA + "data_report.jsonl"]
    assert genomes == zip_members(ncbi.package)[DATA + "data_report.jsonl"] * 2


# ---- the merged package ----------------------------------------------------------------------
def test_each_chunk_is_one_post_and_the_packages_are_merged(chunked, tmp_path, policy):
    key = "0123456789abcdefSECRETKEY"
    path = download(
        tmp_path, policy, include_sequence=["GENOME", "CDS"], aux_report="ANNOTATION",
        complete_only=True, released_since="2020-01-01", api_key=key,
    )
    assert path == tmp_path / "out.zip"
    assert bodies(chunked) == CHUNKS
    for record, chunk in zip(chunked.requests, CHUNKS, strict=True):
        assert record.json == {
            "accessions": chunk, "released_since": "2020-01-01T00:00:00Z",
            "complete_only": True, "include_sequence": ["GENOME", "CDS"],
            "aux_report": ["ANNOTATION"],
        }
        assert record.headers["api-key"] == key
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.zip"]  # no temp file left

    merged = zip_members(path)
    parts = [zip_members(p) for p in PACKAGES]
    for name in ["data_report.jsonl", "genomic.fna", "annotation_report.jsonl", "cds.fna",
                 "protein.faa", "biosample_report.jsonl"]:
        assert merged[DATA + name] == b"".join(p.get(DATA + name, b"") for p in parts)
    assert merged[DATA + "data_report.jsonl"].count(b"\n") == 32 + 5 + 9 + 1
    sums = dict(
        reversed(line.split("  ")) for line in merged["md5sum.txt"].decode().splitlines()
    )
    assert sums == {n: hashlib.md5(b).hexdigest() for n, b in merged.items() if n.startswith(DATA)}
    with open_package(path) as package:
        assert package.verify()
        for table in package.tables():
            expected = []
            for source in PACKAGES:
                with open_package(source) as part:
                    if table in part.tables():
                        expected.append(part.table(table))
            assert package.table(table).equals(pa.concat_tables(expected)), table


def test_chunks_share_the_rate_limiter(chunked, tmp_path, policy, fake_time):
    download(tmp_path, policy)
    assert len(chunked.requests) == 4
    assert fake_time.sleeps == [0.35, 0.35, 0.35]  # 3 req/s, 5% margin, fake clock at rest


def test_progress_bar_names_the_chunk(chunked, tmp_path, policy, capsys):
    download(tmp_path, policy, progress=True)
    err = capsys.readouterr().err
    for n in range(1, 5):
        assert f"out.zip chunk {n}/4" in err
    assert "out.zip merging 4 chunks" in err


def test_command_line_splits_long_input_files(ncbi, tmp_path, capsys):
    listing = tmp_path / "ids.txt"
    accessions = [f"OQ{n:06d}.1" for n in range(DEFAULT_CHUNK_SIZE + 2)]
    listing.write_text("\n".join(accessions) + "\n")
    dest = tmp_path / "out.zip"
    code = main(["download", "--inputfile", str(listing), "--filename", str(dest),
                 "--no-progressbar"])
    assert (code, capsys.readouterr().out) == (0, f"{dest}\n")
    assert bodies(ncbi) == [accessions[:2501], accessions[2501:]]


# ---- retries and failures ------------------------------------------------------------------
def test_each_chunk_is_retried_with_its_own_budget(chunked, tmp_path, fake_time):
    """Two attempts per chunk: a budget shared by the download would run out."""
    policy = RetryPolicy(attempts=2, sleep=fake_time.sleep, clock=fake_time.clock)
    chunked.script(ok(), status(503), ok(), flipped(), ok(), truncated("close"))
    download(tmp_path, policy)
    assert bodies(chunked) == [CHUNKS[0], CHUNKS[1], CHUNKS[1], CHUNKS[2], CHUNKS[2],
                               CHUNKS[3], CHUNKS[3]]
    assert zip_members(tmp_path / "out.zip")[DATA + "genomic.fna"] == b"".join(
        zip_members(p)[DATA + "genomic.fna"] for p in PACKAGES
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.zip"]


def test_failure_of_the_third_of_four_chunks_leaves_nothing(chunked, tmp_path, policy):
    chunked.script(ok(), ok(), error(400, "Invalid accession"))
    with pytest.raises(vpkg.DownloadError) as info:
        download(tmp_path, policy)
    assert str(info.value).startswith(
        "chunk 3 of 4 (3 accessions, MN000005.1 ... MN000007.1): NCBI Datasets answered "
        "HTTP 400 Bad Request to POST /datasets/v2/virus/genome/download: Invalid accession"
    )
    assert (info.value.status, info.value.ncbi_message) == (400, "Invalid accession")
    assert bodies(chunked) == CHUNKS[:3]  # the 4th chunk is never asked for
    assert_nothing_left(tmp_path)


def test_persistent_corruption_of_a_chunk_keeps_an_existing_dest(chunked, tmp_path, fake_time):
    (tmp_path / "out.zip").write_bytes(b"previous package")
    policy = RetryPolicy(attempts=2, sleep=fake_time.sleep, clock=fake_time.clock)
    chunked.script(ok(), ok(), flipped(), flipped())
    with pytest.raises(vpkg.DownloadError, match=r"^chunk 3 of 4 .*: no valid package after 2"):
        download(tmp_path, policy)
    assert (tmp_path / "out.zip").read_bytes() == b"previous package"
    assert [p.name for p in tmp_path.iterdir()] == ["out.zip"]


def test_interrupt_while_a_chunk_waits_to_retry_leaves_nothing(chunked, tmp_path):
    clock = FakeTime()

    def sleep(seconds):
        if seconds >= 1:  # the backoff, not the rate limiter's 0.35 s
            raise KeyboardInterrupt
        clock.sleep(seconds)

    # urllib3's backoff: the first retry goes at once, the second after 2 s
    chunked.script(ok(), ok(), truncated("close"), truncated("close"))
    with pytest.raises(KeyboardInterrupt):
        download(tmp_path, RetryPolicy(sleep=sleep, clock=clock.clock))
    assert len(chunked.requests) == 4
    assert_nothing_left(tmp_path)


def test_a_failed_merge_leaves_nothing(chunked, tmp_path, policy, monkeypatch):
    def full_disk(sources, dest, progress=None):
        dest.write_bytes(b"half a package")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("vpkg.fetch.chunked.merge_packages", full_disk)
    with pytest.raises(vpkg.DownloadError) as info:
        download(tmp_path, policy)
    assert str(info.value) == (
        f"cannot write the package in {tmp_path}: No space left on device; "
        "check the folder's permissions and free space"
    )
    assert len(chunked.requests) == 4
    assert_nothing_left(tmp_path)


def test_a_merged_package_failing_verification_is_not_kept(chunked, tmp_path, policy,
                                                          monkeypatch):
    def bad_merge(sources, dest, progress=None):
        dest.write_bytes(b"not a zip")

    monkeypatch.setattr("vpkg.fetch.chunked.merge_packages", bad_merge)
    with pytest.raises(vpkg.DownloadError, match="^the merged package is damaged"):
        download(tmp_path, policy)
    assert_nothing_left(tmp_path)
