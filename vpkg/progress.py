"""Progress bars for long work: shown on a terminal only, and never when disabled.

tqdm is imported only when a bar is actually shown. `counting` wraps a package so that every
byte its readers pull from a member is reported to a bar, whatever the reader.

>>> from vpkg.progress import progress_bar
>>> with progress_bar(total=10, desc="demo", enabled=False) as bar:
...     bar.update(10)
"""

from __future__ import annotations

import sys
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from vpkg.package import Package

#: Bytes read between two bar updates (keeps line-by-line readers cheap).
FLUSH_BYTES = 1 << 20


def show_progress(enabled: bool | None) -> bool:
    """Whether to draw a bar: ``enabled`` when given, else whether stderr is a terminal."""
    if enabled is not None:
        return bool(enabled)
    isatty = getattr(sys.stderr, "isatty", None)
    return bool(isatty and isatty())


class Progress:
    """A progress bar (tqdm) or nothing; counts the members read for its label.

    Create it with `progress_bar`. ``update(n)`` adds bytes; ``started(member)`` shows the
    member being read and how many of ``members`` have started.
    """

    def __init__(self, bar: Any, label: str, members: int | None = None):
        self._bar = bar
        self.label = label
        self.members = members
        self.started_members = 0

    def update(self, n: int = 1) -> None:
        if self._bar is not None:
            self._bar.update(n)

    def reset(self, total: int | None = None) -> None:
        """Start counting again from zero (a retried download), with a new total."""
        if self._bar is not None:
            self._bar.reset(total=total)

    def started(self, member: str) -> None:
        self.started_members += 1
        if self._bar is not None:
            count = f" [{self.started_members}/{self.members}]" if self.members else ""
            name = member.rsplit("/", 1)[-1]
            self._bar.set_description(f"{self.label}: {name}{count}", refresh=False)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def progress_bar(
    total: int | None,
    desc: str,
    enabled: bool | None = None,
    unit: str = "B",
    members: int | None = None,
) -> Progress:
    """A tqdm bar on stderr, or a silent `Progress` when stderr is not a terminal or
    ``enabled`` is False.

    Parameters
    ----------
    total
        Expected amount (bytes for ``unit="B"``), or None when unknown.
    desc
        The label shown before the bar.
    enabled
        True or False to force; None (default) shows a bar only on a terminal.
    unit
        ``"B"`` shows bytes with binary prefixes and a rate; anything else counts items.
    members
        How many members will be read, shown as ``[i/members]``.
    """
    if not show_progress(enabled):
        return Progress(None, desc, members)
    from tqdm import tqdm

    scale = {"unit_scale": True, "unit_divisor": 1024} if unit == "B" else {}
    bar = tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, dynamic_ncols=True, **scale)
    return Progress(bar, desc, members)


class CountingStream:
    """A binary stream that reports the bytes read through it to a bar, in 1 MiB steps.

    Anything else (``readable()``, ``seek``...) is passed to the wrapped stream.
    """

    def __init__(self, raw: IO[bytes], bar: Progress):
        self._raw = raw
        self._bar = bar
        self._pending = 0

    def _add(self, n: int) -> None:
        self._pending += n
        if self._pending >= FLUSH_BYTES:
            self._bar.update(self._pending)
            self._pending = 0

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(size)
        self._add(len(data))
        return data

    def readline(self, size: int = -1) -> bytes:
        data = self._raw.readline(size)
        self._add(len(data))
        return data

    def readinto(self, buffer) -> int:
        n = self._raw.readinto(buffer) or 0
        self._add(n)
        return n

    def __iter__(self):
        return self

    def __next__(self) -> bytes:
        line = self.readline()
        if not line:
            raise StopIteration
        return line

    def __getattr__(self, name: str) -> Any:
        return getattr(self._raw, name)

    def close(self) -> None:
        if self._pending:
            self._bar.update(self._pending)
            self._pending = 0
        self._raw.close()

    def __enter__(self) -> CountingStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class CountingPackage:
    """A package seen through `CountingStream`: readers given it report progress to ``bar``.

    Only what the readers use is forwarded (``path``, ``open_member``); pass it to
    `vpkg.readers.open_reader` in place of the package.
    """

    def __init__(self, package: Package, bar: Progress):
        self._package = package
        self.bar = bar
        self.path = package.path

    def open_member(self, member: str) -> CountingStream:
        self.bar.started(member)
        return CountingStream(self._package.open_member(member), self.bar)
