"""``data_report.jsonl`` (V2, and the older V1) -> ``genomes``; the engine of every report
read in blocks: native where exact, Python elsewhere.

Each block (about `BLOCK` bytes of whole lines) is first given to `NativeReport.parse`. A
block it refuses is cut in two at a line boundary and each half tried again, so that the
few lines needing the Python path (`vpkg.readers.jsonl`) are found without giving up the
native speed for their neighbours; when both halves are refused, or a piece is small, the
Python path reads it. Either way rows keep file order, and `rebatch` cuts the result into
batches of at most ``batch_size`` rows.

Reading, line counting and encoding (repeated values as tokens, `vpkg.readers.interning`)
of the next blocks run on a second thread (`prefetch`); blocks are parsed and finished
(the derived columns) on `WORKERS` threads at once (pyarrow and numpy release the GIL),
their batches handed on in file order (`ordered`). Empty lines are dropped before the
native parse (`without_blank_lines`), so they cost no more than reading them.
"""

from __future__ import annotations

import io
import os
import re
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO

import numpy as np
import pyarrow as pa

from vpkg.container.prefetch import prefetch
from vpkg.errors import FormatError
from vpkg.readers import jsonl
from vpkg.readers.arrays import empty_table, equal_mask
from vpkg.readers.derive import add_derived
from vpkg.readers.json_arrow import NativeReport
from vpkg.readers.jsonl import parse_line, record_batches, report_rows_of
from vpkg.schema import GENOME_COLUMNS, GENOME_READ_SCHEMA, Column

BLOCK = 4 << 20
#: Pieces of at most this many lines are not cut further: the Python path reads them.
MIN_LINES = 16
#: Blocks read and prepared (on the prefetch thread) ahead of the ones being parsed.
DEPTH = 2
#: Blocks parsed at once on a pool of threads (pyarrow releases the GIL), beside the reading
#: thread and the consumer: one per core. (One per core but one was faster while the reading
#: thread's Python work held the GIL; with its array operations, two parsing threads on two
#: cores took 2.37-2.44 s against 2.64-2.65 s, medians of 5 and 6 alternating runs.)
WORKERS = max(1, min(4, os.cpu_count() or 1))
_OPEN, _NL = 123, 10  # b"{", b"\n"
#: Values that repeat verbatim across lines (one per host, one per virus): each
#: distinct text is read once (see `vpkg.readers.interning`).
REPEATED = [("host", "lineage"), ("virus", "lineage")]


@dataclass
class Block:
    """Whole lines of a report: where they start, how many, whether each is one plain object
    line (starts with '{'), and the encoded form of the bytes (see `NativeReport.encode`)."""

    data: bytes
    number: int
    lines: int
    plain: bool
    encoded: tuple | None = None


def line_blocks(stream: IO[bytes], where: str) -> Iterator[tuple[bytes, int, tuple]]:
    """(block of whole lines, number of its first line, `scan` of it), in order.

    A block is the bytes read (at least `BLOCK`, a zip member's chunks gathered) up to
    their last line break, copied once; the rest starts the next block. A file is read
    into one reused buffer (`_file_blocks`).
    """
    if isinstance(stream, io.BufferedReader | io.FileIO):
        yield from _file_blocks(stream, where)
        return
    read = getattr(stream, "read1", None) or stream.read
    parts: list[bytes] = []
    size = 0
    number = 1
    while True:
        chunk = read(BLOCK)
        if chunk:
            parts.append(chunk)
            size += len(chunk)
            if size < BLOCK:  # a zip member hands out smaller chunks: gather a block
                continue
        if not parts:
            return
        if not chunk:  # the end of the member: every byte left
            block = parts[0] if len(parts) == 1 else b"".join(parts)
        else:
            last = len(parts) - 1
            while last >= 0 and (cut := parts[last].rfind(b"\n") + 1) == 0:
                last -= 1
            if last < 0:  # no line break yet: one line of at least BLOCK bytes
                data = b"".join(parts)
                _check_length(data, number, where)
                parts, size = [data], len(data)
                continue
            whole, rest = parts[:last], parts[last]
            if cut == len(rest):
                whole.append(rest)
            else:
                whole.append(memoryview(rest)[:cut])
            block = whole[0] if len(whole) == 1 and cut == len(rest) else b"".join(whole)
            parts = ([rest[cut:]] if cut < len(rest) else []) + parts[last + 1:]
            size = sum(map(len, parts))
        scanned = scan(block)
        yield block, number, scanned
        number += scanned[0]
        if not chunk:
            return


def _file_blocks(stream: IO[bytes], where: str) -> Iterator[tuple[bytes, int, tuple]]:
    """`line_blocks` of a file, read into one buffer reused for every block: the kernel
    copies into memory already mapped, and each block is copied out once (reading a fresh
    4 MiB ``bytes`` per block, then joining it to the last one's unfinished line, copied
    twice into fresh memory, with its page faults)."""
    buffer = bytearray(2 * BLOCK)
    view = memoryview(buffer)
    kept = 0  # the unfinished line at the buffer's start
    number = 1
    while True:
        if kept + BLOCK > len(buffer):  # one line longer than the room left: grow
            _check_length(view[:kept], number, where)
            buffer = bytearray(2 * len(buffer))
            buffer[:kept] = view[:kept]
            view = memoryview(buffer)
        got = stream.readinto(view[kept:kept + BLOCK])
        end = kept + got
        if not got:
            if kept:
                block = bytes(view[:kept])
                yield block, number, scan(block)
            return
        cut = buffer.rfind(b"\n", kept, end) + 1
        if not cut:  # no line break yet
            kept = end
            continue
        block = bytes(view[:cut])
        scanned = scan(block)
        yield block, number, scanned
        number += scanned[0]
        kept = end - cut
        view[:kept] = view[cut:end]


def _check_length(tail: bytes, number: int, where: str) -> None:
    if len(tail) > jsonl.MAX_LINE_BYTES:
        raise FormatError(
            f"{where} line {number}: longer than {jsonl.MAX_LINE_BYTES:,} bytes; this is "
            "not a JSON Lines report",
            member=where,
            line=number,
        )


def scan(block: bytes) -> tuple[int, bool]:
    """(lines in ``block``, whether every line starts with '{'), by array operations, or
    C-level counts for short lines (a report's lines are ~2 KB)."""
    if not block:
        return 0, False
    a = np.frombuffer(block, np.uint8)
    mask = equal_mask(a, _NL)
    breaks = int(np.count_nonzero(mask))
    ends = block[-1] == _NL
    lines = breaks + (not ends)
    if block[0] != _OPEN:
        return lines, False
    if breaks * 64 > len(block):  # short lines: no array of every line start
        return lines, block.count(b"\n{") == breaks - ends
    starts = np.flatnonzero(mask)[: breaks - ends] + 1
    return lines, bool((a[starts] == _OPEN).all())


_BLANK_RUN = re.compile(rb"\n\n+")


def without_blank_lines(data: bytes) -> bytes | None:
    """``data`` without its empty lines (runs of line breaks), or None when it has none."""
    if b"\n\n" not in data and data[:1] != b"\n":
        return None
    return _BLANK_RUN.sub(b"\n", data).removeprefix(b"\n")


class ReportReader:
    """The tables of a report's blocks, native where exact (see the module docstring)."""

    def __init__(self, where: str, columns: list[Column], schema: pa.Schema,
                 native: bool = True, dedupe: list[tuple[str, ...]] = ()):
        self.where = where
        self.columns = columns
        self.schema = schema
        self.native = NativeReport(columns, schema, dedupe) if native else None
        if self.native is not None and not self.native.enabled:
            self.native = None

    def prepare(self, data: bytes, number: int, scanned: tuple | None = None) -> Block:
        """A block with its lines counted and its repeated values encoded (on the prefetch
        thread: encoding there rather than on the parsing threads took no less time, and
        about 20 MB more memory in an export)."""
        lines, plain = scanned or scan(data)
        block = Block(data, number, lines, plain)
        if self.native is not None and plain and len(data) <= jsonl.MAX_LINE_BYTES:
            block.encoded = self.native.encode(data)
        return block

    def tables(self, block: Block) -> Iterator[pa.Table]:
        """The rows of ``block`` as tables, in order."""
        table = None
        if self.native is not None and not block.plain:
            table = self._compacted(block)
        elif self.native is not None and len(block.data) <= jsonl.MAX_LINE_BYTES:
            table = self.native.parse(block.data, block.lines, block.encoded)
        if table is not None:
            yield table
        elif self.native is None or block.lines <= MIN_LINES:
            yield self._python(block)
        else:
            yield from self._halves(block)

    def _compacted(self, block: Block) -> pa.Table | None:
        """The native table of a block whose only oddity is empty lines, or None.

        Empty lines give no row on the Python path either; a block of nothing else gives
        an empty table at once (a member of empty lines reads at memory speed).
        """
        compact = without_blank_lines(block.data)
        if compact is None:
            return None
        if not compact:
            return empty_table(self.schema)
        lines, plain = scan(compact)
        if not plain or len(compact) > jsonl.MAX_LINE_BYTES:
            return None
        return self.native.parse(compact, lines, self.native.encode(compact))

    def _halves(self, block: Block) -> Iterator[pa.Table]:
        data = block.data
        cut = data.find(b"\n", len(data) // 2) + 1 or data.rfind(b"\n", 0, len(data) - 1) + 1
        if cut <= 0 or cut >= len(data):
            yield self._python(block)
            return
        first = self.prepare(data[:cut], block.number)
        second = self.prepare(data[cut:], block.number + first.lines)
        parsed = [self.native.parse(p.data, p.lines, p.encoded) if p.plain else None
                  for p in (first, second)]
        both_refused = parsed[0] is None and parsed[1] is None
        for piece, table in zip((first, second), parsed, strict=True):
            if table is not None:
                yield table
            elif both_refused or piece.lines <= MIN_LINES:
                yield self._python(piece)
            else:
                yield from self._halves(piece)

    def _python(self, block: Block) -> pa.Table:
        def records() -> Iterator[tuple[int, dict]]:  # lazily: the first bad line stops it
            for offset, raw in enumerate(block.data.split(b"\n")):
                number = block.number + offset
                if len(raw) > jsonl.MAX_LINE_BYTES:
                    _check_length(raw, number, self.where)
                record = parse_line(raw, number, self.where)
                if record is not None:
                    yield number, record

        rows = report_rows_of(records(), self.where, self.columns)
        batches = list(record_batches(rows, self.schema, 1 << 62))
        return pa.Table.from_batches(batches, schema=self.schema)


def report_batches(
    stream: IO[bytes], where: str, reader: ReportReader, batch_size: int,
    finish: Callable[[pa.RecordBatch], pa.RecordBatch] | None = None,
) -> Iterator[pa.RecordBatch]:
    """Record batches of at most ``batch_size`` rows, in file order.

    Blocks are parsed on `WORKERS` threads at once (pyarrow releases the GIL while it
    parses), each parsed batch passed through ``finish`` on the same thread, and the
    results handed on in file order.
    """
    def work(block: Block) -> list[pa.RecordBatch]:
        parsed = [b for t in reader.tables(block) for b in t.to_batches() if b.num_rows]
        return parsed if finish is None else [finish(b) for b in parsed]

    blocks = prefetch((reader.prepare(*block) for block in line_blocks(stream, where)), DEPTH)
    try:
        yield from rebatch(ordered(work, blocks), batch_size)
    finally:
        blocks.close()


def ordered(work, items: Iterator, workers: int | None = None) -> Iterator:
    """The results of ``work(item)`` for each item, computed on a pool of ``workers``
    threads (default `WORKERS`), flattened, in the items' order."""
    from concurrent.futures import ThreadPoolExecutor

    workers = WORKERS if workers is None else workers
    if workers < 1:  # on the calling thread
        for item in items:
            yield from work(item)
        return
    pending: deque = deque()
    with ThreadPoolExecutor(workers, thread_name_prefix="vpkg-parse") as pool:
        try:
            for item in items:
                pending.append(pool.submit(work, item))
                if len(pending) > workers:
                    yield from pending.popleft().result()
            while pending:
                yield from pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()


def rebatch(batches: Iterator[pa.RecordBatch], batch_size: int) -> Iterator[pa.RecordBatch]:
    """The batches' rows in batches of at most ``batch_size`` rows, without copying.

    A batch ends at ``batch_size`` rows or at the end of a parsed one, whichever comes
    first: batches are slices of the parsed blocks.
    """
    for batch in batches:
        for offset in range(0, batch.num_rows, batch_size):
            yield batch.slice(offset, batch_size)


def batches(stream: IO[bytes], where: str, batch_size: int) -> Iterator[pa.RecordBatch]:
    """Record batches of the ``genomes`` table, one row per report line, in file order.

    Lines are parsed natively (pyarrow.json) wherever that is exact, and by the Python path
    otherwise; the derived columns are then added to every batch in one place
    (`vpkg.readers.derive`), whichever path parsed it.
    """
    reader = ReportReader(where, GENOME_COLUMNS, GENOME_READ_SCHEMA, dedupe=REPEATED)
    yield from report_batches(stream, where, reader, batch_size, finish=add_derived)
