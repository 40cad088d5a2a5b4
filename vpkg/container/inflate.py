"""Stream a zip member, inflated on a second thread with the fastest inflate installed.

ISA-L (the ``isal`` package) inflates deflate three to four times faster than zlib, and its
decompressor fills each output chunk in one call with the GIL released, so a background
thread inflates the next chunks while the reader parses the current one; without ``isal``,
zlib is used the same way. As `zipfile` does, reading stops at the size the zip directory
gives, and the CRC-32 is checked at the end (on the reader's side); damage raises what
`zipfile` raises (`zipfile.BadZipFile`, `EOFError` when the file ends inside the member),
so callers keep one error path.
"""

from __future__ import annotations

import struct
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path

from vpkg.container.prefetch import prefetch

#: INFLATE says which inflate is in use: "isal" or "zlib".
try:  # pragma: no cover - which one depends on the environment
    from isal import igzip_lib as _igzip
    from isal.isal_zlib import crc32 as _crc32

    INFLATE = "isal"
except ImportError:  # pragma: no cover
    _igzip = None
    _crc32 = zlib.crc32
    INFLATE = "zlib"

#: Compressed bytes read from the file at a time, and the most inflated bytes per chunk.
READ_SIZE = 1 << 20
CHUNK = 2 << 20
#: Inflated chunks waiting for the reader: bounds memory to about DEPTH * CHUNK.
DEPTH = 3
_LOCAL = struct.Struct("<4sHHHHHIIIHH")


def can_stream(info: zipfile.ZipInfo) -> bool:
    """Whether `MemberStream` reads this member (stored or deflated, not encrypted)."""
    return info.compress_type in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED) and not (
        info.flag_bits & 0x1
    )


class MemberStream:
    """A read-only binary stream over one zip member (``read``, ``read1``, ``readline``).

    ``read1(n)`` hands out inflated chunks without copying them (it may return fewer than
    ``n`` bytes); ``read(n)`` returns exactly ``n`` bytes unless the member ends.
    """

    def __init__(self, path: str | Path, info: zipfile.ZipInfo):
        self.name = info.filename
        self._info = info
        self._fh = open(path, "rb")
        try:
            self._start = self._data_offset()
        except BaseException:
            self._fh.close()
            raise
        self._buf = b""
        self._pos = 0
        self._done = False
        self._crc = 0
        self.inflated = 0
        self._chunks = prefetch(self._produce(), depth=DEPTH)

    # ---- the producer thread ----------------------------------------------------------------
    def _data_offset(self) -> int:
        info = self._info
        self._fh.seek(info.header_offset)
        header = self._fh.read(_LOCAL.size)
        if len(header) != _LOCAL.size or header[:4] != b"PK\x03\x04":
            raise zipfile.BadZipFile(f"Bad magic number for file header of {info.filename!r}")
        fields = _LOCAL.unpack(header)
        name_len, extra_len = fields[9], fields[10]
        raw_name = self._fh.read(name_len)
        expected = info.orig_filename.encode("utf-8" if info.flag_bits & 0x800 else "cp437")
        if raw_name != expected:
            raise zipfile.BadZipFile(
                f"File name in directory {info.orig_filename!r} and header {raw_name!r} differ."
            )
        return info.header_offset + _LOCAL.size + name_len + extra_len

    def _produce(self) -> Iterator[bytes]:
        """The inflated chunks, run ahead on the prefetch thread; damage as zipfile's."""
        try:
            yield from self._inflate()
        except Exception as exc:
            raise _error(exc, self.name) from None

    def _inflate(self):
        info = self._info
        self._fh.seek(self._start)
        left = info.compress_size
        size = 0
        inflater = _new_inflater() if info.compress_type else _Stored()
        full = False  # as zipfile does, read no further than the directory's size
        while not full and not inflater.eof:
            data = b""
            if inflater.needs_input:
                if left <= 0:
                    break
                data = self._fh.read(min(READ_SIZE, left))
                if not data:  # the file ends before the member does
                    raise EOFError(f"the zip file ends inside member {self.name!r}")
                left -= len(data)
            out = inflater.decompress(data, CHUNK)
            if size + len(out) >= info.file_size:
                out, full = out[:info.file_size - size], True
            if out:
                size += len(out)
                yield out
        self.inflated = size

    # ---- the reader side ----------------------------------------------------------------------
    def _next_chunk(self) -> bool:
        """Load the next inflated chunk into the buffer; False at the end of the member.

        The CRC is computed here, on the reader's side: the inflating thread then needs
        the GIL less often, which keeps it running while the reader parses.
        """
        if self._done:
            return False
        try:
            item = next(self._chunks)
        except StopIteration:
            self._done = True
            self._check()
            return False
        except BaseException:
            self._done = True
            raise
        self._crc = _crc32(item, self._crc)
        self._buf, self._pos = item, 0
        return True

    def _check(self) -> None:
        """zipfile's checks at the end of a member: its CRC, then its size."""
        info = self._info
        if self._crc != info.CRC:
            raise zipfile.BadZipFile(f"Bad CRC-32 for file {self.name!r}")
        if self.inflated != info.file_size:
            raise zipfile.BadZipFile(
                f"member {self.name!r} inflates to {self.inflated:,} bytes, the zip says "
                f"{info.file_size:,}")

    def read1(self, size: int = -1) -> bytes:
        """Up to ``size`` bytes (all of the current chunk when ``size`` < 0)."""
        if self._pos >= len(self._buf) and not self._next_chunk():
            return b""
        buf, pos = self._buf, self._pos
        if pos == 0 and (size < 0 or size >= len(buf)):
            self._buf = b""
            return buf
        end = len(buf) if size < 0 else min(len(buf), pos + size)
        self._pos = end
        return buf[pos:end]

    def read(self, size: int = -1) -> bytes:
        """Exactly ``size`` bytes, or what is left of the member (all of it when < 0)."""
        parts = []
        want = size
        while want != 0:
            part = self.read1(want)
            if not part:
                break
            parts.append(part)
            if want > 0:
                want -= len(part)
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def readline(self, size: int = -1) -> bytes:
        """One line with its newline, at most ``size`` bytes when ``size`` >= 0."""
        parts = []
        want = size
        while want != 0:
            if self._pos >= len(self._buf) and not self._next_chunk():
                break
            buf, pos = self._buf, self._pos
            end = buf.find(b"\n", pos) + 1 or len(buf)
            if want > 0:
                end = min(end, pos + want)
                want -= end - pos
            parts.append(buf[pos:end])
            self._pos = end
            if buf[end - 1:end] == b"\n":
                break
        return b"".join(parts)

    def __iter__(self):
        return self

    def __next__(self) -> bytes:
        line = self.readline()
        if not line:
            raise StopIteration
        return line

    def readinto(self, buffer) -> int:
        """Fill ``buffer`` with the next bytes; the count (0 at the end). For `hashlib`."""
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        """Stop the inflating thread and release the file."""
        self._chunks.close()
        self._buf = b""
        self._fh.close()

    @property
    def closed(self) -> bool:
        return self._fh.closed

    def __enter__(self) -> MemberStream:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def _new_inflater():
    """A raw-deflate inflater with ``needs_input``, ``eof`` and ``decompress(data, max)``.

    ISA-L's decompressor fills one output buffer of ``max`` bytes in one call, with the
    GIL released throughout; zlib's grows its buffer in steps, taking the GIL back at
    each, which a busy parsing thread makes slow.
    """
    if _igzip is not None:
        return _igzip.IgzipDecompressor(flag=_igzip.DECOMP_DEFLATE, hist_bits=15)
    return _Zlib()


class _Zlib:
    """zlib's raw inflate with the ``needs_input`` interface of ISA-L's decompressor."""

    def __init__(self):
        self._inflate = zlib.decompressobj(-15)
        self.needs_input = True

    @property
    def eof(self) -> bool:
        return self._inflate.eof

    def decompress(self, data: bytes, max_length: int) -> bytes:
        out = self._inflate.decompress(self._inflate.unconsumed_tail + data, max_length)
        self.needs_input = not self._inflate.unconsumed_tail and len(out) < max_length
        return out


class _Stored:
    """A stored (uncompressed) member read through the same interface."""

    needs_input = True
    eof = False

    def decompress(self, data: bytes, max_length: int) -> bytes:  # noqa: ARG002 - the interface
        return data


def _error(exc: Exception, name: str) -> Exception:
    """What `zipfile` would raise for the same damage."""
    if isinstance(exc, (zipfile.BadZipFile, EOFError, OSError, zlib.error)):
        return exc
    # ISA-L raises its own error type for bad deflate data
    return zipfile.BadZipFile(f"bad deflate data in {name!r} ({exc})")
