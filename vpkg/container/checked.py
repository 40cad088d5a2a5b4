"""Check a package's members while they are read, instead of reading them once more first.

`CheckedReads` stands for a container (it has the same ``open_member``, ``member_for``,
``member_size``, ``path``) and hashes every member stream it opens as the reader consumes it:
the md5 runs on a helper thread (``hashlib`` releases the GIL on large updates), the zip CRC
is checked by the member stream itself at its end. `CheckedReads.finish` then checks what
the reads saw against ``md5sum.txt``, reads only the members no reader read to the end
(``README.md``, the catalog, tables not exported) and raises `IntegrityError` as
`vpkg.container.integrity.verify` would. An export calls it after writing into its staging
folder and before publishing, so a damaged package still writes nothing, having been read
once.

>>> from vpkg.container import open_container
>>> with open_container("fixtures/real/Rotavirus_J.zip") as c:
...     checked = CheckedReads(c)
...     with checked.open_member("ncbi_dataset/data/genomic.fna") as fh:
...         _ = fh.read()
...     len(checked.finish())
6
"""

from __future__ import annotations

import hashlib
import queue
import threading
from typing import IO, TYPE_CHECKING

from vpkg.container import integrity
from vpkg.errors import IntegrityError

if TYPE_CHECKING:  # pragma: no cover
    from vpkg.container import Container


class CheckedReads:
    """A container whose member reads are hashed; `finish` checks the whole package."""

    def __init__(self, container: Container):
        self._container = container
        self._expected = integrity.md5sums(container)
        self.digests: dict[str, str] = {}
        names = container.members()
        for name in self._expected:
            if name not in names:
                raise IntegrityError(
                    f"{container.path}: md5sum.txt lists {name}, which the package lacks; "
                    "the download is incomplete, download it again",
                    member=name,
                )

    def __getattr__(self, name: str):
        return getattr(self._container, name)

    def open_member(self, member: str) -> IO[bytes]:
        """The member's stream, hashed as it is read (see the module docstring)."""
        return _Hashing(self._container.open_member(member), member, self)

    def finish(self) -> dict[str, str]:
        """Check every member; the md5 of each. `IntegrityError` for the first bad one."""
        for name in self._container.members():
            if name not in self.digests:  # not read to its end by any reader
                self.digests[name] = integrity.member_md5(self._container, name)
            expected = self._expected.get(name)
            if expected is not None and self.digests[name] != expected:
                raise IntegrityError(
                    f"{self._container.path}: {name} has md5 {self.digests[name]}, but "
                    f"md5sum.txt says {expected}; the file is corrupt, download it again",
                    member=name,
                )
        return dict(self.digests)


class _Hashing:
    """A binary stream that feeds every byte read to an md5 on a helper thread.

    At most `DEPTH` chunks wait for the md5 (the reader waits beyond that), so memory stays
    bounded when the reader is faster than the md5 (FASTA is).
    """

    DEPTH = 2

    def __init__(self, raw: IO[bytes], member: str, owner: CheckedReads):
        self._raw = raw
        self._member = member
        self._owner = owner
        self._md5 = hashlib.md5()
        self._queue: queue.Queue | None = queue.Queue(self.DEPTH)
        self._thread = threading.Thread(target=self._hash, args=(self._queue,),
                                        name="vpkg-md5", daemon=True)
        self._thread.start()
        if hasattr(raw, "read1"):
            self.read1 = self._wrap(raw.read1)
        if hasattr(raw, "readline"):
            self.readline = self._wrap(raw.readline)
        self.read = self._wrap(raw.read)

    def _hash(self, chunks: queue.Queue) -> None:
        update = self._md5.update
        while (data := chunks.get()) is not None:
            update(data)  # hashlib releases the GIL on large updates

    def _wrap(self, method):
        def read(*args) -> bytes:
            data = method(*args)
            if self._queue is not None:
                if data:
                    self._queue.put(data)
                elif not args or args[0] != 0:  # the end of the member
                    self._stop()
                    self._owner.digests[self._member] = self._md5.hexdigest()
            return data

        return read

    def _stop(self) -> None:
        if self._queue is not None:
            self._queue.put(None)
            self._queue = None
            self._thread.join()

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self._stop()  # closed before its end: the digest is not recorded
        self._raw.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
