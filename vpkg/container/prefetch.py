"""Run an iterator on a background thread, a few items ahead of its consumer.

The readers use it to read and prepare the next blocks of a member while the current one
is parsed: the parsing (pyarrow, ISA-L) releases the GIL, so the two overlap on two cores.
Errors raised by the iterator are raised in the consumer, in order.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator


class prefetch:  # noqa: N801 - used like a generator
    """Run an iterator on a background thread, ``depth`` items ahead of the consumer."""

    _END = object()

    def __init__(self, items: Iterator, depth: int = 1):
        self._items = items
        self._queue: queue.Queue = queue.Queue(depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="vpkg-prefetch", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            for item in self._items:
                if not self._put((item, None)):
                    return
            self._put((self._END, None))
        except BaseException as exc:  # raised in the consumer
            self._put((None, exc))

    def _put(self, item) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def __iter__(self):
        return self

    def __next__(self):
        item, error = self._queue.get()
        if error is not None:
            self._queue.put((self._END, None))
            raise error
        if item is self._END:
            self._queue.put((item, None))
            raise StopIteration
        return item

    def close(self) -> None:
        """Stop the thread (it may be blocked on a full queue)."""
        self._stop.set()
        while self._thread.is_alive():
            try:
                self._queue.get(timeout=0.05)
            except queue.Empty:
                pass
