"""Genome FASTA blocks parsed without per-record Python work (numpy and Arrow kernels).

`genome_table` turns a run of whole FASTA records (``>header`` lines, each followed by
sequence lines) into the ``genome_sequences`` columns with a fixed number of array
operations per block, whatever the number of records:

1. numpy finds every line break; a line starting with ``>`` starts a record (its header);
2. every other line is a sequence line: one Arrow ``take`` over the lines (`pieces`) copies
   them end to end into one buffer, which holds the block's sequences back to back;
3. each record's sequence offset is the sum of the lengths of the sequence lines before it
   (one ``cumsum``), and lengths are differences of offsets;
4. the headers are copied out the same way and split at their first space.

The identifier and title are what `vpkg.readers.fasta` gives (the header stripped, split at
its first space, the title stripped, an empty title null) whenever every header is plain
ASCII without control characters, starts and ends with no space and has no second space
after the identifier; then no stripping can change anything. Otherwise (or with a carriage
return anywhere in the block) `genome_table` returns None and the caller reads the block
record by record, so the values are that path's either way.

numpy is used because no library call finds record and line starts in a buffer and turns
them into offsets: pyarrow's kernels work value by value, and a block is one value until
it is split. Arrow arrays are built from numpy buffers (`int64s`), never by
``pyarrow.array``, which imports pandas when it is installed (about 0.2 s).

>>> t = genome_table(b">A1.1 a virus\\nAC\\nGT\\n>B2.1\\nA\\n", "x")
>>> t.column("accession").to_pylist(), t.column("description").to_pylist()
(['A1.1', 'B2.1'], ['a virus', None])
>>> t.column("sequence").to_pylist(), t.column("length").to_pylist()
(['ACGT', 'A'], [4, 1])
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from vpkg.errors import FormatError
from vpkg.schema import schema

try:  # importing pyarrow.compute builds a Python wrapper of every kernel (about 40 ms of
    # CPU per process); the Cython module beneath it calls a kernel by name
    from pyarrow._compute import call_function
except ImportError:  # pragma: no cover - a pyarrow that moved it
    from pyarrow.compute import call_function

_NL, _GT, _SPACE = 10, 62, 32


def genome_table(buf: bytes, where: str, start: int = 0, end: int | None = None
                 ) -> pa.Table | None:
    """The ``genome_sequences`` rows of ``buf[start:end]`` (whole records, from a '>'), or
    None when some header needs the record-by-record path (see the module docstring)."""
    end = len(buf) if end is None else end
    if end <= start or buf.find(b"\r", start, end) != -1:
        return None
    whole = np.frombuffer(buf, np.uint8)
    breaks = np.flatnonzero(whole[start:end] == _NL)
    breaks += start
    if whole[end - 1] != _NL:  # the last line has no line break
        breaks = np.append(breaks, end)
    # line k is [line_start[k], breaks[k]), never empty of its line break: a record starts
    # at each line starting with '>'
    line_start = np.empty(len(breaks), np.int64)
    line_start[0] = start
    np.add(breaks[:-1], 1, out=line_start[1:])
    header = whole[line_start] == _GT
    header_lines = np.flatnonzero(header)
    data = pa.py_buffer(buf)
    split = split_headers(pieces(data, line_start[header_lines] + 1, breaks[header_lines]))
    if split is None:
        return None
    body = ~header
    line_length = (breaks - line_start)[body]
    # all sequence lines, in order, copied into one buffer: the sequences end to end
    lines = pieces(data, line_start[body], breaks[body])
    offsets = np.zeros(len(line_length) + 1, np.int64)
    np.cumsum(line_length, out=offsets[1:])
    first_line = header_lines - np.arange(len(header_lines))  # sequence lines before
    record_offsets = np.append(offsets[first_line], offsets[-1])
    sequences = pa.Array.from_buffers(
        pa.large_binary(), len(header_lines),
        [None, pa.py_buffer(record_offsets), lines.buffers()[2]])
    lengths = int64s(np.diff(record_offsets))
    return pa.Table.from_arrays([*split, sequence_text(sequences, where), lengths],
                                schema=schema("genome_sequences"))


def pieces(data: pa.Buffer, lo: np.ndarray, hi: np.ndarray,
           valid: np.ndarray | None = None) -> pa.BinaryArray:
    """The byte strings ``data[lo[i]:hi[i]]`` (ordered, not overlapping, below 2 GiB)
    copied into one array by Arrow's ``take``; null where ``valid`` is False."""
    n = len(lo)
    offsets = np.empty(2 * n + 1, np.int32)
    offsets[0] = 0
    offsets[1::2] = lo
    offsets[2::2] = hi
    # piece 2i is the gap before string i, piece 2i+1 the string itself
    every = pa.Array.from_buffers(pa.binary(), 2 * n, [None, pa.py_buffer(offsets), data])
    odd = np.arange(1, 2 * n, 2, dtype=np.int32)
    wanted = call_function("take", [every, pa.Array.from_buffers(pa.int32(), n,
                                                                 [None, pa.py_buffer(odd)])])
    if valid is None or valid.all():
        return wanted
    bitmap = pa.py_buffer(np.packbits(valid, bitorder="little"))
    return pa.Array.from_buffers(pa.binary(), n, [bitmap, *wanted.buffers()[1:]],
                                 null_count=int(n - np.count_nonzero(valid)))


def int64s(values: np.ndarray) -> pa.Array:
    """An Arrow int64 array over ``values`` (no copy). `pyarrow.array` would do, but it
    imports pandas (about 0.2 s) to check whether its argument is a pandas object."""
    values = np.ascontiguousarray(values, np.int64)
    return pa.Array.from_buffers(pa.int64(), len(values), [None, pa.py_buffer(values)])


def split_headers(heads: pa.BinaryArray) -> tuple[pa.Array, pa.Array] | None:
    """(identifiers, titles or null) of plain headers; None when one is not plain."""
    n = len(heads)
    if n == 0:
        return None
    data = heads.buffers()[2]
    offsets = np.frombuffer(heads.buffers()[1], np.int32, n + 1)
    lo, hi = offsets[:-1], offsets[1:]
    if np.any(hi <= lo):  # an empty header: the slow path says what is wrong
        return None
    hb = np.frombuffer(data, np.uint8, int(hi[-1]))
    if hb.max() >= 128 or hb.min() < _SPACE:
        return None
    if np.any(hb[lo] == _SPACE) or np.any(hb[hi - 1] == _SPACE):
        return None
    spaces = np.flatnonzero(hb == _SPACE)
    at = np.searchsorted(spaces, lo)
    space = spaces[np.minimum(at, len(spaces) - 1)] if len(spaces) else hi
    space = np.where((at < len(spaces)) & (space < hi), space, hi)
    titled = space < hi
    if np.any(hb[space[titled] + 1] == _SPACE):  # a second space: the title is stripped
        return None
    ids = pieces(data, lo, space).view(pa.string())
    titles = pieces(data, np.where(titled, space + 1, hi), hi, titled)
    return ids, titles.view(pa.string())


def sequence_text(sequences: pa.LargeBinaryArray, where: str) -> pa.LargeStringArray:
    """``sequences`` as text, once their bytes are known to be UTF-8 (ASCII bytes are: only
    other bytes need checking)."""
    text = sequences.view(pa.large_string())
    data = sequences.buffers()[2]
    if data is not None and len(data) and np.frombuffer(data, np.uint8).max() >= 128:
        try:
            text.validate(full=True)
        except pa.ArrowInvalid:
            raise FormatError(
                f"{where}: a sequence holds bytes that are not text (not UTF-8); the member "
                "is damaged",
                member=where,
            ) from None
    return text
