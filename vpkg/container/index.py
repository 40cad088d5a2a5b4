"""Random access into one deflated zip member, so that several cores can read one huge member.

A deflate stream can only be decoded from its start, unless one knows, at some point inside
it, the bit offset of a block and the 32 KiB of output before it (the window later blocks
may copy from). An index of such access points, built in one sequential pass and kept, lets
each worker start decoding at its own point (as zlib's ``zran`` example and rapidgzip do).

This module is the container half of that plan (a prototype; docs/scale.md measures it):

* `build_index` makes one pass over the member and stores the access points (about one per
  ``spacing`` bytes of output) beside the zip, in ``<zip>.vpkg-index/``; later calls reuse
  the stored index while the zip's size, mtime and the member's CRC are unchanged.
* `record_range` gives a worker a stream of the bytes ``[begin, end)`` of the member, where
  ``begin`` and ``end`` are moved forward from the nominal offsets to the start of the next
  record (the first ``>`` line of FASTA, the next line of a JSON-lines report). Ranges made
  from consecutive nominal offsets by the same rule join up exactly: together they are the
  member byte for byte.

The decoding is rapidgzip's (``pip install 'vpkg[scale]'``): Python's zlib cannot prime an
inflate stream at a bit offset that is not a byte boundary (``inflatePrime`` is not exposed),
and rapidgzip is a maintained library that reads raw deflate from any seekable file object,
builds, exports and imports such indexes, and verifies them. A zip member's deflate data is
handed to it as a file view (`MemberBytes`) of its byte extent inside the zip.

>>> import os, tempfile, zipfile
>>> tmp = tempfile.mkdtemp()
>>> text = b"".join(b">r%d\\n%s\\n" % (i, os.urandom(9000).hex().encode()) for i in range(300))
>>> with zipfile.ZipFile(f"{tmp}/p.zip", "w", zipfile.ZIP_DEFLATED) as zf:
...     zf.writestr("genomic.fna", text)
>>> index = build_index(f"{tmp}/p.zip", "genomic.fna", spacing=1 << 20)
>>> cuts = index.split(3)
>>> parts = []
>>> for a, b in zip(cuts, cuts[1:]):
...     with record_range(index, a, b, FASTA) as part:  # close it: it holds decoder threads
...         parts.append(part.read())
>>> len(parts), b"".join(parts) == text, all(p.startswith(b">") for p in parts)
(3, True, True)
"""

from __future__ import annotations

import io
import json
import os
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path

from vpkg.errors import MemberNotFoundError, PackageError, VpkgError

#: Record separators: a record starts just after the newline of the first match.
FASTA = b"\n>"
LINES = b"\n"
#: About this many output bytes between two access points (rapidgzip's chunk size; each
#: point costs some 31 KB of the index: its window, compressed).
SPACING = 8 << 20
SCAN = 1 << 20
_LOCAL_HEADER = struct.Struct("<IHHHHHIIIHH")
_LOCAL_MAGIC = 0x04034B50


@dataclass(frozen=True)
class MemberExtent:
    """Where a member's deflate data lies in the zip, and what it inflates to."""

    zip_path: str
    member: str
    data_offset: int
    compressed_size: int
    size: int
    crc: int


def member_extent(zip_path: str | os.PathLike, member: str) -> MemberExtent:
    """Locate the deflate data of ``member`` (after its local header) in the zip file."""
    path = os.fspath(zip_path)
    try:
        with zipfile.ZipFile(path) as zf, open(path, "rb") as fh:
            info = zf.getinfo(member)
            fh.seek(info.header_offset)
            header = fh.read(_LOCAL_HEADER.size)
    except KeyError:
        raise MemberNotFoundError(f"{path}: no member {member!r}", member=member) from None
    except (zipfile.BadZipFile, OSError) as exc:
        raise PackageError(f"{path}: cannot read the zip ({exc})") from exc
    fields = _LOCAL_HEADER.unpack(header) if len(header) == _LOCAL_HEADER.size else (0,)
    if fields[0] != _LOCAL_MAGIC:
        raise PackageError(f"{path}: {member}: no local file header at offset "
                           f"{info.header_offset}; the zip is damaged, download it again")
    if info.compress_type != zipfile.ZIP_DEFLATED:
        raise PackageError(f"{path}: {member} is not deflated (method {info.compress_type}); "
                           "a stored member needs no index, read its bytes directly")
    name_len, extra_len = fields[9], fields[10]
    start = info.header_offset + _LOCAL_HEADER.size + name_len + extra_len
    return MemberExtent(path, member, start, info.compress_size, info.file_size, info.CRC)


class MemberBytes(io.RawIOBase):
    """A read-only, seekable file of a member's compressed bytes (``pread`` on the zip)."""

    def __init__(self, extent: MemberExtent):
        super().__init__()
        self._fd = os.open(extent.zip_path, os.O_RDONLY)
        self._start = extent.data_offset
        self._size = extent.compressed_size
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = min(len(buffer), self._size - self._pos)
        if n <= 0:
            return 0
        data = os.pread(self._fd, n, self._start + self._pos)
        buffer[: len(data)] = data
        self._pos += len(data)
        return len(data)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def tell(self) -> int:
        return self._pos

    def close(self) -> None:
        if not self.closed:
            os.close(self._fd)
        super().close()


@dataclass(frozen=True)
class DeflateIndex:
    """A member's access points: output offsets where decoding can start, and the index file."""

    extent: MemberExtent
    path: Path
    points: tuple[int, ...]

    def split(self, parts: int) -> list[int]:
        """Nominal cut offsets from 0 to the member size: at most ``parts + 1``, each inner one
        the access point nearest to an even share (so a worker starts decoding without a
        detour). Fewer when the member has fewer access points than ``parts``."""
        size = self.extent.size
        cuts = [0]
        for i in range(1, parts):
            target = size * i // parts
            point = min(self.points, key=lambda p: abs(p - target))
            if cuts[-1] < point < size:
                cuts.append(point)
        return [*cuts, size]

    def open(self):
        """The member as a seekable stream (a rapidgzip file primed with this index)."""
        rapidgzip = _rapidgzip()
        stream = rapidgzip.RapidgzipFile(MemberBytes(self.extent), parallelization=1)
        stream.import_index(os.fspath(self.path))
        return stream


def build_index(
    zip_path: str | os.PathLike,
    member: str,
    *,
    spacing: int = SPACING,
    cache_dir: str | os.PathLike | None = None,
) -> DeflateIndex:
    """The access-point index of a member: read from ``<zip>.vpkg-index/`` when current, else
    built in one pass over the member (which also checks its CRC) and stored there.

    Parameters
    ----------
    zip_path, member
        The package zip and the member's path inside it.
    spacing
        About this many output bytes between two access points (rapidgzip's chunk size).
    cache_dir
        Where index files are kept (default: ``<zip>.vpkg-index`` beside the zip).

    Raises
    ------
    IntegrityError
        When the member does not inflate to its recorded size and CRC.
    """
    from vpkg.errors import IntegrityError

    extent = member_extent(zip_path, member)
    folder = Path(cache_dir) if cache_dir else Path(f"{extent.zip_path}.vpkg-index")
    name = member.rsplit("/", 1)[-1]
    index_file, meta_file = folder / f"{name}.gzidx", folder / f"{name}.json"
    stat = os.stat(extent.zip_path)
    key = {"zip_size": stat.st_size, "zip_mtime_ns": stat.st_mtime_ns, "member": member,
           "crc": extent.crc, "size": extent.size, "spacing": spacing}
    try:
        meta = json.loads(meta_file.read_text(encoding="utf-8"))
        if meta.get("key") == key and index_file.is_file():
            return DeflateIndex(extent, index_file, tuple(meta["points"]))
    except (OSError, ValueError):
        pass  # no usable cached index: build it
    rapidgzip = _rapidgzip()
    crc, size = 0, 0
    import zlib

    with rapidgzip.RapidgzipFile(MemberBytes(extent), parallelization=1,
                                 chunk_size=spacing) as stream:
        try:
            while block := stream.read(8 << 20):
                crc = zlib.crc32(block, crc)
                size += len(block)
        except (RuntimeError, ValueError) as exc:
            raise IntegrityError(f"{extent.zip_path}: {member} does not inflate ({exc}); "
                                 "download the package again", member=member) from exc
        if (size, crc) != (extent.size, extent.crc):
            raise IntegrityError(
                f"{extent.zip_path}: {member} inflates to {size} bytes with CRC {crc:08x}, "
                f"the zip says {extent.size} and {extent.crc:08x}; download the package again",
                member=member,
            )
        points = tuple(sorted(set(stream.block_offsets().values())))
        folder.mkdir(parents=True, exist_ok=True)
        temp = folder / f".{name}.gzidx.tmp-{os.getpid()}"
        stream.export_index(os.fspath(temp))
    os.replace(temp, index_file)  # the index, then its key: a half-written pair is never used
    temp = folder / f".{name}.json.tmp-{os.getpid()}"
    temp.write_text(json.dumps({"key": key, "points": points}), encoding="utf-8")
    os.replace(temp, meta_file)
    return DeflateIndex(extent, index_file, points)


def record_range(index: DeflateIndex, start: int, stop: int, marker: bytes = FASTA) -> RangeStream:
    """A stream of the member's records that start in ``[start, stop)``; close it after use
    (``with``): it holds decoder threads.

    Both ends move forward to a record start: just after the newline of the first ``marker``
    found at or after the offset (offset 0 and the member's end stay). Give consecutive
    `DeflateIndex.split` cuts to consecutive workers: their ranges join up exactly.
    """
    stream = index.open()
    size = index.extent.size
    try:
        end = _record_start(stream, stop, size, marker)
        begin = min(_record_start(stream, start, size, marker), end)
        stream.seek(begin)
    except BaseException:
        stream.close()
        raise
    return RangeStream(stream, begin, end)


def _record_start(stream, offset: int, size: int, marker: bytes) -> int:
    if offset <= 0:
        return 0
    if offset >= size:
        return size
    stream.seek(offset)
    tail, position = b"", offset
    while block := stream.read(SCAN):
        found = (tail + block).find(marker)
        if found != -1:
            return position - len(tail) + found + 1
        tail = block[-(len(marker) - 1):] if len(marker) > 1 else b""
        position += len(block)
    return size


class RangeStream(io.RawIOBase):
    """The bytes ``[begin, end)`` of a member, decoded from the nearest access point."""

    def __init__(self, stream, begin: int, end: int):
        super().__init__()
        self._stream = stream
        self.begin, self.end = begin, end
        self._left = end - begin

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        """Up to ``size`` bytes (all that is left when negative), as the decoder hands them
        out: no copy through a buffer."""
        if self._left <= 0:
            return b""
        data = self._stream.read(self._left if size is None or size < 0 else
                                 min(size, self._left))
        if not data:
            raise VpkgError(f"the member ended {self._left} bytes before the range end "
                            f"{self.end}; its index is stale, remove it and build it again")
        self._left -= len(data)
        return data

    read1 = read

    def readinto(self, buffer) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._stream.close()
        super().close()


def _rapidgzip():
    try:
        import rapidgzip
    except ImportError:
        raise VpkgError("indexing a member needs rapidgzip: pip install 'vpkg[scale]'") from None
    return rapidgzip
