"""FASTA members (``genomic.fna``, ``cds.fna``, ``protein.faa``) -> sequence tables.

The member is read into a few reused buffers of `BLOCK` bytes, each starting with the
record the last one left unfinished, so that each buffer holds whole records (`_units`).
``genomic.fna`` blocks are parsed with array operations (`vpkg.readers.fasta_blocks`),
`WORKERS` blocks at once on threads (numpy and Arrow release the GIL) while the next block
is read or inflated, and batches are slices of them; a block whose headers need stripping
is read record by record (`genome_unit_table`, the exact path the block parser is tested
against). For the feature tables, record starts are found with ``memchr``-fast single-byte
searches, each sequence loses its line breaks in one C-level ``replace``, and the batch's
sequences are joined straight into the data buffer of an Arrow ``large_string`` array;
their batches close at ``batch_size`` records or `MAX_BATCH_BYTES` of sequence. Memory
stays bounded whatever the member size.
"""

from __future__ import annotations

import io
import os
import re
from array import array
from collections import deque
from collections.abc import Callable, Iterator
from itertools import accumulate
from typing import IO, TypeVar

import pyarrow as pa

from vpkg.errors import FormatError
from vpkg.schema import schema

#: Bytes read at a time: larger blocks parse no faster, and hold more memory per worker.
BLOCK = 4 << 20
#: Genome blocks of a file parsed at once on a pool of threads (numpy and Arrow release the
#: GIL). Other streams get one fewer: a zip member is inflated on a thread of its own, and
#: on two cores its blocks parse fastest on the reading thread itself.
WORKERS = min(2, os.cpu_count() or 1)
#: 8 MiB batches: buffers this size are reused by the allocator rather than mapped afresh.
MAX_BATCH_BYTES = 8 << 20
#: Largest record accepted (the largest virus genomes are a few MB); beyond it the member
#: is refused rather than held in memory.
MAX_RECORD_BYTES = 256 << 20

_FIELD = re.compile(r"\[([^=\[\]]+)=([^\[\]]*)\]")
_RANGE = re.compile(r"(c?)(\d+)-(\d+)")
_RANGES = re.compile(r"c?\d+-\d+(?:,c?\d+-\d+)*")
_TEXT = re.compile(rb"[^ \t\r\n]")
_NL, _GT = 10, 62  # b"\n", b">"
T, R = TypeVar("T"), TypeVar("R")


def _units(stream: IO[bytes], where: str, keep: int = 1) -> Iterator[tuple[bytearray, int, int]]:
    """(buffer, start, end): ``buffer[start:end]`` holds whole records, from a '>' on.

    The member is read into up to ``keep`` buffers in turn, each starting with the end of
    the last one (the record it had not finished): a buffer handed out is overwritten only
    when ``keep`` more units have been asked for. A record larger than its buffer gets a
    larger one, up to `MAX_RECORD_BYTES`.
    """
    fill = _filler(stream)
    buffers: list[bytearray] = []
    turn, start, rest = 0, -1, b""  # start: -1 before the first record
    at_file_start = True
    while True:
        size = max(BLOCK, 2 * len(rest))  # room for the record begun and as much again
        if turn % keep == len(buffers):
            buffers.append(bytearray(size))
        elif not size <= len(buffers[turn % keep]) <= 2 * size:  # records over BLOCK / 2
            buffers[turn % keep] = bytearray(size)
        buffer = buffers[turn % keep]
        memoryview(buffer)[:len(rest)] = rest  # (a bytearray slice would copy ``rest`` first)
        filled = fill(buffer, len(rest))
        if start == -1:  # before the first record
            start = _first_start(buffer, filled, where, at_file_start)
            at_file_start = False
            if start == -1:  # blank so far
                if filled < len(buffer):
                    return
                continue
        if filled < len(buffer):  # the member's end
            if filled > start:
                yield buffer, start, filled
            return
        last = _last_start(buffer, start, filled)
        if last == start and filled - start > MAX_RECORD_BYTES:
            raise FormatError(
                f"{where}: a record is longer than {MAX_RECORD_BYTES:,} bytes; this is not "
                "a virus sequence file (or it is damaged)",
                member=where,
            )
        if last > start:
            yield buffer, start, last
            turn += 1
        rest = bytes(memoryview(buffer)[last:filled])  # from the record not yet complete
        start = 0


def _filler(stream: IO[bytes]) -> Callable[[bytearray, int], int]:
    """``fill(buffer, filled)``: read into ``buffer[filled:]`` until it is full or the member
    ends; the bytes in the buffer then."""
    if _is_file(stream):  # straight into the buffer
        readinto = stream.readinto

        def fill(buffer: bytearray, filled: int) -> int:
            view = memoryview(buffer)
            while filled < len(buffer) and (n := readinto(view[filled:])):
                filled += n
            return filled

        return fill
    read = getattr(stream, "read1", None) or stream.read  # a zip member hands out its chunks
    left = memoryview(b"")  # the part of the last chunk that did not fit

    def fill_from_chunks(buffer: bytearray, filled: int) -> int:
        nonlocal left
        view = memoryview(buffer)
        while filled < len(buffer) and (left or (left := memoryview(read(BLOCK)))):
            n = min(len(left), len(buffer) - filled)
            view[filled:filled + n] = left[:n]
            filled, left = filled + n, left[n:]
        return filled

    return fill_from_chunks


def _is_file(stream: IO[bytes]) -> bool:
    """Whether ``stream`` is a plain file (read on the calling thread, with ``readinto``)."""
    return type(stream) in (io.BufferedReader, io.FileIO)


def _next_start(buf: bytes, lo: int, hi: int) -> int:
    """Index of the first '>' in ``buf[lo:hi]`` that starts a line (lo >= 1), or -1."""
    find = buf.find
    i = find(b">", lo, hi)
    while i != -1 and buf[i - 1] != _NL:
        i = find(b">", i + 1, hi)
    return i


def _last_start(buf: bytes, lo: int, hi: int) -> int:
    """Index of the last '>' in ``buf[lo + 1:hi]`` that starts a line; ``lo`` when none."""
    rfind = buf.rfind
    i = rfind(b">", lo + 1, hi)
    while i > lo and buf[i - 1] != _NL:
        i = rfind(b">", lo + 1, i)
    return i if i > lo else lo


def _first_start(buf: bytearray, filled: int, where: str, at_file_start: bool) -> int:
    """Index of the first record's '>' in ``buf[:filled]``, after a byte order mark (at the
    file's start) and blank space; -1 when all of it is blank."""
    skip = 3 if at_file_start and buf[:3] == b"\xef\xbb\xbf" and filled >= 3 else 0
    text = _TEXT.search(buf, skip, filled)
    if text is None:
        return -1
    i = text.start()
    if buf[i] != _GT:
        raise FormatError(
            f"{where} line 1: expected a FASTA header starting with '>', found "
            f"{bytes(buf[i:min(filled, i + 40)])!r}; this member is not FASTA",
            member=where,
            line=1,
        )
    return i


def iter_records(stream: IO[bytes], where: str) -> Iterator[tuple[bytes, bytes]]:
    """Yield (header without '>', sequence bytes with line breaks and CR removed)."""
    for buf, start, end in _units(stream, where):
        yield from _records(buf, start, end)


def _records(buf: bytes, start: int, end: int) -> Iterator[tuple[bytes, bytes]]:
    """The records of ``buf[start:end]``, which starts at a '>' and ends at a record end."""
    find = buf.find
    crlf = find(b"\r", start, end) != -1
    pos = start + 1
    while True:
        nl = find(b"\n", pos, end)
        if nl == -1:  # a header on the last line, with no sequence
            yield buf[pos:end].rstrip(b"\r"), b""
            return
        nxt = _next_start(buf, nl + 1, end)
        stop = end if nxt == -1 else nxt
        seq = buf[nl + 1:stop].replace(b"\n", b"")
        yield buf[pos:nl].rstrip(b"\r"), (seq.replace(b"\r", b"") if crlf else seq)
        if nxt == -1:
            return
        pos = nxt + 1


def _batches(stream: IO[bytes], where: str, batch_size: int) -> Iterator[list]:
    """Lists of (header, sequence) records, bounded in count and bytes."""
    batch: list[tuple[bytes, bytes]] = []
    size = 0
    for record in iter_records(stream, where):
        batch.append(record)
        size += len(record[1])
        if len(batch) >= batch_size or size >= MAX_BATCH_BYTES:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def _sequence_array(seqs: list[bytes], where: str) -> tuple[pa.Array, pa.Array]:
    """(large_string sequences, int64 lengths) built directly from the bytes."""
    from vpkg.readers.fasta_blocks import sequence_text

    lengths = array("q", map(len, seqs))
    offsets = array("q", [0])
    offsets.extend(accumulate(lengths))
    sequences = pa.Array.from_buffers(
        pa.large_binary(), len(seqs), [None, pa.py_buffer(offsets), pa.py_buffer(b"".join(seqs))]
    )
    return (sequence_text(sequences, where),
            pa.Array.from_buffers(pa.int64(), len(seqs), [None, pa.py_buffer(lengths)]))


def _decode_header(header: bytes, where: str) -> str:
    try:
        return header.decode("utf-8")
    except UnicodeDecodeError:
        raise FormatError(
            f"{where}: header {header[:60]!r} is not UTF-8 text; the member is damaged",
            member=where,
        ) from None


def _split_header(text: str, where: str) -> tuple[str, str | None]:
    first, _, rest = text.strip().partition(" ")
    if not first:
        raise FormatError(
            f"{where}: a FASTA header has no identifier ({text[:60]!r})", member=where
        )
    rest = rest.strip()
    return first, (rest or None)


def genome_batches(stream: IO[bytes], where: str, batch_size: int) -> Iterator[pa.RecordBatch]:
    """Batches of ``genome_sequences``: accession, description, sequence, length.

    Each block of whole records is parsed by `vpkg.readers.fasta_blocks` (array operations
    per block), `WORKERS` blocks at once on a pool of threads while the next block is read;
    a block whose headers it cannot take as they are is read record by record
    (`genome_unit_table`). Batches are slices of the blocks, of at most ``batch_size`` rows.
    """
    from vpkg.readers.fasta_blocks import genome_table

    def parse(unit: tuple[bytes, int, int]) -> pa.Table:
        buf, start, end = unit
        table = genome_table(buf, where, start, end)
        return genome_unit_table(buf, start, end, where) if table is None else table

    workers = WORKERS if _is_file(stream) else WORKERS - 1
    for table in _ordered(parse, _units(stream, where, keep=workers + 1), workers):
        for batch in table.to_batches():
            for offset in range(0, batch.num_rows, batch_size):
                yield batch.slice(offset, batch_size)


def _ordered(work: Callable[[T], R], items: Iterator[T], workers: int) -> Iterator[R]:
    """``map(work, items)`` on a pool of ``workers`` threads, in order; at most ``workers``
    items are being worked on when the next one is asked for. An error raised by ``items``
    comes after the results of the items before it."""
    if workers < 2:
        yield from map(work, items)
        return
    from concurrent.futures import ThreadPoolExecutor

    pending: deque = deque()
    with ThreadPoolExecutor(workers, thread_name_prefix="vpkg-fasta") as pool:
        try:
            try:
                for item in items:
                    if len(pending) == workers:
                        yield pending.popleft().result()
                    pending.append(pool.submit(work, item))
            except Exception:
                while pending:
                    yield pending.popleft().result()
                raise
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()


def genome_unit_table(buf: bytes, start: int, end: int, where: str) -> pa.Table:
    """The rows of whole records ``buf[start:end]``, record by record (the exact path)."""
    target = schema("genome_sequences")
    records = list(_records(buf, start, end))
    heads = [_split_header(_decode_header(h, where), where) for h, _ in records]
    sequences, lengths = _sequence_array([s for _, s in records], where)
    return pa.Table.from_arrays(
        [
            pa.array([a for a, _ in heads], pa.string()),
            pa.array([d for _, d in heads], pa.string()),
            sequences,
            lengths,
        ],
        schema=target,
    )


def parse_id(identifier: str) -> tuple[str, list[dict] | None]:
    """Split ``NC_045512.2:266-13483,13483-21555`` into the accession and its ranges."""
    accession, sep, tail = identifier.rpartition(":")
    if not sep or not accession or not _RANGES.fullmatch(tail):
        return identifier, None
    ranges = [
        {"begin": int(b), "end": int(e), "complement": c == "c"}
        for c, b, e in _RANGE.findall(tail)
    ]
    return accession, ranges


def parse_description(description: str | None) -> dict:
    """Name, organism, isolate and every ``[key=value]`` field of a feature header."""
    if description is None:
        return {"name": None, "organism": None, "isolate": None, "header_fields": None}
    fields = [(k.strip(), v) for k, v in _FIELD.findall(description)]
    start = description.find(" [")
    if description.startswith("["):
        start = 0
    name = (description if start == -1 else description[:start]).strip() or None
    lookup = dict(fields)
    return {
        "name": name,
        "organism": lookup.get("organism"),
        "isolate": lookup.get("isolate"),
        "header_fields": fields or None,
    }


def _feature_batches(
    table: str, stream: IO[bytes], where: str, batch_size: int
) -> Iterator[pa.RecordBatch]:
    target = schema(table)
    for records in _batches(stream, where, batch_size):
        columns: dict[str, list] = {name: [] for name in target.names}
        for header, _ in records:
            identifier, description = _split_header(_decode_header(header, where), where)
            accession, ranges = parse_id(identifier)
            columns["id"].append(identifier)
            columns["accession"].append(accession)
            columns["ranges"].append(ranges)
            columns["description"].append(description)
            for key, value in parse_description(description).items():
                columns[key].append(value)
        sequences, lengths = _sequence_array([s for _, s in records], where)
        arrays = []
        for f in target:
            if f.name == "sequence":
                arrays.append(sequences)
            elif f.name == "length":
                arrays.append(lengths)
            else:
                arrays.append(pa.array(columns[f.name], f.type))
        yield pa.RecordBatch.from_arrays(arrays, schema=target)


def cds_batches(stream: IO[bytes], where: str, batch_size: int) -> Iterator[pa.RecordBatch]:
    """Batches of ``cds_sequences``."""
    return _feature_batches("cds_sequences", stream, where, batch_size)


def protein_batches(stream: IO[bytes], where: str, batch_size: int) -> Iterator[pa.RecordBatch]:
    """Batches of ``protein_sequences``."""
    return _feature_batches("protein_sequences", stream, where, batch_size)
