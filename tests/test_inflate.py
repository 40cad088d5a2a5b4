"""vpkg.container.inflate: zip members read on a second thread give zipfile's bytes and errors."""

from __future__ import annotations

import random
import zipfile
import zlib

import pytest
from conftest import CONSTRUCTED, REAL

from vpkg.container import inflate
from vpkg.container.inflate import MemberStream

ZIPS = [*REAL, *sorted(CONSTRUCTED.glob("*.zip"))]


@pytest.fixture(params=["isal", "zlib"])
def inflater(request, monkeypatch):
    """Run each test with ISA-L (when installed) and with the zlib fallback."""
    if request.param == "zlib":
        monkeypatch.setattr(inflate, "_igzip", None)
    elif inflate._igzip is None:
        pytest.skip("isal is not installed")
    monkeypatch.setattr(inflate, "CHUNK", 1000)  # many chunks, even for small members
    monkeypatch.setattr(inflate, "READ_SIZE", 333)
    return request.param


def members(path):
    with zipfile.ZipFile(path) as zf:
        return [(info, zf.read(info)) for info in zf.infolist()]


@pytest.mark.parametrize("path", ZIPS, ids=[p.stem for p in ZIPS])
def test_every_member_reads_as_zipfile_reads_it(path, inflater):
    for info, expected in members(path):
        with MemberStream(path, info) as stream:
            assert stream.read() == expected
        with MemberStream(path, info) as stream:  # chunk by chunk, and line by line
            assert b"".join(iter(lambda: stream.read1(777), b"")) == expected
        with MemberStream(path, info) as stream:
            assert b"".join(stream) == expected


def test_read_sizes_and_lines(tmp_path, inflater):
    data = b"".join(b"line %d %s\n" % (i, b"x" * (i % 300)) for i in range(3000))
    path = tmp_path / "t.zip"
    for method in (zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED):
        with zipfile.ZipFile(path, "w", method) as zf:
            zf.writestr("m", data)
        info = zipfile.ZipFile(path).getinfo("m")
        with MemberStream(path, info) as stream:
            assert stream.read(5) == data[:5]
            assert stream.readline() == data[5:data.index(b"\n") + 1]
            assert stream.readline(3) == b"lin"
            rest = stream.read()
        assert data.endswith(rest) and len(rest) == len(data) - data.index(b"\n") - 4


def test_closing_early_stops_the_thread(inflater):
    info, _ = max(members(REAL[0]), key=lambda m: m[0].file_size)
    stream = MemberStream(REAL[0], info)
    assert stream.read1(10)
    stream.close()
    assert not stream._chunks._thread.is_alive() and stream.closed


def damaged(path, tmp_path, rng):
    raw = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        info = max(zf.infolist(), key=lambda i: i.compress_size)
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    raw[start + rng.randrange(info.compress_size)] ^= 1 << rng.randrange(8)
    out = tmp_path / "damaged.zip"
    out.write_bytes(bytes(raw))
    return out, info.filename


@pytest.mark.parametrize("seed", range(12))
def test_damage_raises_what_zipfile_raises(tmp_path, seed, inflater):
    path, name = damaged(REAL[seed % len(REAL)], tmp_path, random.Random(seed))
    with zipfile.ZipFile(path) as zf:
        try:
            zf.read(name)
            expected = None
        except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
            expected = exc
        info = zf.getinfo(name)
    try:
        with MemberStream(path, info) as stream:
            stream.read()
        got = None
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        got = exc
    assert (expected is None) == (got is None), (expected, got)
    if isinstance(expected, zipfile.BadZipFile) and "CRC" in str(expected):
        assert isinstance(got, zipfile.BadZipFile)


def test_truncated_member_is_an_eof_error(tmp_path, inflater):
    info, _ = max(members(REAL[-1]), key=lambda m: m[0].file_size)
    raw = REAL[-1].read_bytes()
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    path = tmp_path / "t.zip"
    path.write_bytes(raw[:start + info.compress_size // 2])
    with pytest.raises(EOFError), MemberStream(path, info) as stream:
        stream.read()


def test_tables_read_through_member_streams_equal_the_directory_ones(tmp_path, monkeypatch,
                                                                    inflater):
    import vpkg
    from vpkg import container as package

    monkeypatch.setattr(package, "STREAM_SIZE", 0)  # every member through MemberStream
    for path in ZIPS:
        root = tmp_path / path.stem
        with zipfile.ZipFile(path) as zf:
            zf.extractall(root)
        with vpkg.open_package(path) as from_zip:
            from_dir = vpkg.open_package(root)
            assert from_zip.verify() == from_dir.verify()
            for table in from_zip.tables():
                assert from_zip.table(table).equals(from_dir.table(table)), (path, table)
