"""SIGTERM and SIGHUP stop a command the way Ctrl-C does: temporary files are removed.

Python turns SIGINT into `KeyboardInterrupt`, so every ``finally`` and context manager
cleans up (a download's ``.part`` file, an export's staging folder). SIGTERM (``timeout``,
``kill``, a container stopping) and SIGHUP (a closed terminal) would end the process at
once and leave them behind; while a command runs, they raise `Terminated` instead.

>>> import os, signal
>>> with stop_on_signals():
...     try:
...         os.kill(os.getpid(), signal.SIGTERM)
...     except Terminated as exc:
...         exc.signum == signal.SIGTERM
True
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

#: The signals that become `Terminated` (SIGHUP does not exist on Windows).
SIGNALS = [s for s in (getattr(signal, "SIGTERM", None), getattr(signal, "SIGHUP", None)) if s]


class Terminated(KeyboardInterrupt):
    """Raised in the main thread when SIGTERM or SIGHUP arrives; ``signum`` says which."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name


def _raise(signum: int, frame) -> None:
    raise Terminated(signum)


@contextmanager
def stop_on_signals() -> Iterator[None]:
    """Within the block, SIGTERM and SIGHUP raise `Terminated` (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.signal(s, _raise) for s in SIGNALS}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
