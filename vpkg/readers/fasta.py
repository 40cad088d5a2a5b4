"""FASTA members (``genomic.fna``, ``cds.fna``, ``protein.faa``) -> sequence tables.

The member is read in large blocks (without copying them when the stream hands out its own
chunks, see `vpkg.container.inflate`) and cut into runs of whole records. ``genomic.fna``
runs are parsed with array operations per block (`vpkg.readers.fasta_blocks`), and batches
are slices of them; a run whose headers need stripping is read record by record
(`genome_unit_table`, the exact path the block parser is tested against). For the feature
tables, record starts are found with ``memchr``-fast single-byte searches, each sequence
loses its line breaks in one C-level ``replace``, and the batch's sequences are joined
straight into the data buffer of an Arrow ``large_string`` array; their batches close at
``batch_size`` records or `MAX_BATCH_BYTES` of sequence. Memory stays bounded whatever the
member size.
"""

from __future__ import annotations

import io
import re
from array import array
from collections.abc import Iterator
from itertools import accumulate
from typing import IO

import pyarrow as pa

from vpkg.errors import FormatError
from vpkg.schema import schema

BLOCK = 8 << 20
#: 8 MiB batches: buffers this size are reused by the allocator rather than mapped afresh.
MAX_BATCH_BYTES = 8 << 20
#: Largest record accepted (the largest virus genomes are a few MB); beyond it the member
#: is refused rather than held in memory.
MAX_RECORD_BYTES = 256 << 20

_FIELD = re.compile(r"\[([^=\[\]]+)=([^\[\]]*)\]")
_RANGE = re.compile(r"(c?)(\d+)-(\d+)")
_RANGES = re.compile(r"c?\d+-\d+(?:,c?\d+-\d+)*")
_NL, _GT = 10, 62  # b"\n", b">"


def _blocks(stream: IO[bytes]) -> Iterator[bytes | bytearray]:
    """The member in blocks. A plain file is read into one reused buffer (fresh 8 MiB
    buffers cost a page fault per 4 KiB on first touch); the caller must be done with a
    block before it asks for the next one."""
    if type(stream) in (io.BufferedReader, io.FileIO):
        buffer = bytearray(BLOCK)
        while n := stream.readinto(buffer):
            yield buffer if n == BLOCK else bytes(buffer[:n])
        return
    read = getattr(stream, "read1", None) or stream.read
    while block := read(BLOCK):
        yield block


def _units(stream: IO[bytes], where: str) -> Iterator[tuple[bytes, int, int]]:
    """(buffer, start, end): ``buffer[start:end]`` holds whole records, from a '>' on."""
    carry: list = []  # the record not yet known to be complete, in pieces
    carried = 0
    for block in _blocks(stream):
        if not carry:  # only before the first record
            block = _skip_preamble(block, where)
            if block:
                carry, carried = [b""], 0
                first = 0
            else:
                continue
        elif block[0] == _GT and carry[-1][-1:] == b"\n":
            first = 0
        else:
            first = _next_start(block, 1, len(block))
        if first == -1:
            carry.append(bytes(block) if isinstance(block, bytearray) else block)
            carried += len(block)
            if carried > MAX_RECORD_BYTES:
                raise FormatError(
                    f"{where}: a record is longer than {MAX_RECORD_BYTES:,} bytes; this is "
                    "not a virus sequence file (or it is damaged)",
                    member=where,
                )
            continue
        if first:
            carry.append(block[:first])
        if len(carry) > 1:
            record = b"".join(carry)
            yield record, 0, len(record)
        last = _last_start(block, first)
        if last > first:
            yield block, first, last
        rest = memoryview(block)[last:]  # a reused buffer is overwritten: copy the rest
        carry = [b"", bytes(rest) if isinstance(block, bytearray) else rest]
        carried = len(block) - last
    if len(carry) > 1:
        record = b"".join(carry)
        yield record, 0, len(record)


def _next_start(buf: bytes, lo: int, hi: int) -> int:
    """Index of the first '>' in ``buf[lo:hi]`` that starts a line (lo >= 1), or -1."""
    find = buf.find
    i = find(b">", lo, hi)
    while i != -1 and buf[i - 1] != _NL:
        i = find(b">", i + 1, hi)
    return i


def _last_start(buf: bytes, lo: int) -> int:
    """Index of the last '>' after ``lo`` that starts a line; ``lo`` when there is none."""
    rfind = buf.rfind
    i = rfind(b">", lo + 1)
    while i > lo and buf[i - 1] != _NL:
        i = rfind(b">", lo + 1, i)
    return i if i > lo else lo


def _skip_preamble(block: bytes, where: str) -> bytes:
    block = bytes(block).removeprefix(b"\xef\xbb\xbf")
    stripped = block.lstrip(b" \t\r\n")
    if stripped and not stripped.startswith(b">"):
        raise FormatError(
            f"{where} line 1: expected a FASTA header starting with '>', found "
            f"{stripped[:40]!r}; this member is not FASTA",
            member=where,
            line=1,
        )
    return stripped


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
    lengths = array("q", map(len, seqs))
    offsets = array("q", [0])
    offsets.extend(accumulate(lengths))
    data = b"".join(seqs)
    sequences = pa.LargeStringArray.from_buffers(
        len(seqs), pa.py_buffer(offsets), pa.py_buffer(data)
    )
    if not data.isascii():  # ASCII is valid UTF-8: only other bytes need checking
        try:
            sequences.validate(full=True)
        except pa.ArrowInvalid:
            raise FormatError(
                f"{where}: a sequence holds bytes that are not text (not UTF-8); the member "
                "is damaged",
                member=where,
            ) from None
    return sequences, pa.Array.from_buffers(pa.int64(), len(seqs), [None, pa.py_buffer(lengths)])


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
    per block); a block whose headers it cannot take as they are is read record by record
    (`genome_unit_table`). Batches are slices of the blocks, of at most ``batch_size`` rows.
    """
    from vpkg.readers.fasta_blocks import genome_table

    for buf, start, end in _units(stream, where):
        table = genome_table(buf, where, start, end)
        if table is None:
            table = genome_unit_table(buf, start, end, where)
        for batch in table.to_batches():
            for offset in range(0, batch.num_rows, batch_size):
                yield batch.slice(offset, batch_size)


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
