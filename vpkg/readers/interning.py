"""Read each distinct text of a repeated JSON value once, however many lines repeat it.

Lineage lists make up most of a data report's bytes, and a package repeats a handful of
them (one host lineage per host species, one virus lineage per virus); submitter blocks
repeat for every record of a submission. `ValueCodec.encode` replaces every such value in
a block of JSON Lines by an integer token (``"lineage":7``); the native parser reads the
token as an integer, and `ValueCodec.values` holds, per token, the column values.

The values of a text are computed by the Python path itself (`vpkg.readers.jsonl.extract`
on a record holding only that value), so they are what that path gives, by construction.
A text is used only when that path takes all of it (nothing would go to ``extra``) and it
holds no repeated key and no unpaired surrogate; otherwise `encode` refuses the block and
the block is read without tokens.

A value's text is taken up to the first closing bracket after its key. A value is
therefore eligible only if it holds no container of its own kind (a list of objects, an
object of scalars and lists). A bracket inside a string (a virus named
``... B-[Thailand:2007]``) cuts the text inside that string, which is then not valid JSON:
the text is extended to the next closing bracket, up to `MAX_CUTS` times. A text extended
past the value's real end is not valid JSON either (data follows the value), so the first
text that parses is the value.
"""

from __future__ import annotations

import itertools
import json
import threading

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from vpkg.readers.arrays import binaries, from_values, ints, positions, to_numpy
from vpkg.readers.jsonl import _valid_unicode, extract
from vpkg.schema import Column

#: At most this many distinct texts, or this many bytes of them, are remembered per value.
MAX_TEXTS = 50_000
MAX_TEXT_BYTES = 64 << 20
#: A value is worth a token while at most one value in this many is a text not seen before
#: (learning a text through the Python path, ~13 us for a submitter block, costs about as
#: much as parsing it natively six times), judged block by block after the first `WARMUP`
#: values, which are always learnt (values arrive in no particular order: the first
#: blocks meet most of the distinct texts).
MIN_REPEAT = 8
WARMUP = 16384


#: Brackets inside the strings of one value that are stepped over to find its end.
MAX_CUTS = 8


class _Refused(Exception):
    pass


def _pairs(pairs: list[tuple[str, object]]) -> dict:
    out = dict(pairs)
    if len(out) != len(pairs):
        raise _Refused  # a repeated key: pyarrow refuses it, json.loads keeps the last
    return out


class ValueCodec:
    """Tokens for the distinct texts of the value of ``key`` at ``containers``.

    ``columns`` are the columns read from inside the value, with paths relative to it;
    every container path must hold the same columns (e.g. host.lineage, virus.lineage).
    """

    def __init__(self, key: str, containers: list[tuple[str, ...]], columns: list[Column]):
        self.key = key
        self.containers = containers
        self.columns = columns
        self.list = pa.types.is_list(columns[0].type) and columns[0].path == ()
        opener = b"[" if self.list else b"{"
        self._marker = b'"%s":%s' % (key.encode(), opener)
        self._closer = b"]" if self.list else b"}"
        self._index: dict[bytes, int] = {}  # text -> its number
        self._tokens: list[bytes] = []  # number -> its token
        self._rows: list[dict] = []
        self._size = 0
        self._values: dict[tuple, pa.Array] | None = None
        self._seen = 0
        self._known = self._token_array = binaries([])
        self._lock = threading.Lock()  # encode runs on several threads at once
        self.active = True
        #: whether the marker's end can be the start of another (then only split finds them)
        self._overlaps = any(self._marker.startswith(self._marker[i:])
                             for i in range(1, len(self._marker)))
        #: the columns with paths from the record holding only the value (see `_learn`)
        self._wrapped = [Column(c.name, c.type, (key, *c.path), "", c.absent, (), c.nullable)
                         for c in columns]

    def encode(self, block: bytes) -> bytes | None:
        """``block`` with every value replaced by its token; None if a text is refused.

        When the values stop repeating (too many distinct texts) the codec turns itself
        off (`active` False) and gives the block back unchanged.

        Array operations find every value, look its text up among the known ones
        (``index_in``) and build the new block; only new texts are handled one by one
        (learnt under the codec's lock, so that blocks are encoded on several threads at
        once). A block where some value needs stepping over a
        bracket (or has no end before the next value) is encoded value by value
        (`encode_parts`), which gives the same bytes.
        """
        if self._overlaps or len(block) >= 1 << 31:
            with self._lock:
                return self.encode_parts(block)
        found = self._spans(block)
        if found is None:
            with self._lock:
                return self.encode_parts(block)
        heads, starts, ends, bounds = found
        count = len(starts)
        if not count:
            return block
        spans = np.empty(2 * count, np.int32)  # [start0, end0, start1, end1, ...]
        spans[0::2], spans[1::2] = starts, ends
        data = pa.py_buffer(block)
        texts = pa.Array.from_buffers(pa.binary(), 2 * count - 1,
                                      [None, pa.py_buffer(spans), data])
        texts = texts.take(ints(np.arange(0, 2 * count, 2, dtype=np.int32)))
        with self._lock:  # the texts known so far, and learning the new ones
            known, tokens = self._arrays()
            ids = pc.index_in(texts, value_set=known)
            if ids.null_count:
                new = pc.unique(texts.filter(pc.is_null(ids))).to_pylist()
                if not self._worth(count, new):
                    self.active = False
                    return block
                for text in new:
                    self._learn(text)
                known, tokens = self._arrays()
                ids = pc.index_in(texts, value_set=known)
            if ids.null_count:  # a bracket inside a string cut a text short, or damage
                which = np.frombuffer(ids.buffers()[1], np.int32)[:len(ids)].copy()
                for i in np.flatnonzero(to_numpy(pc.is_null(ids))).tolist():
                    end, number = self._extend(block, int(starts[i]), int(ends[i]),
                                               int(bounds[i]))
                    if number is None:
                        return None
                    ends[i], which[i] = end, number
                known, tokens = self._arrays()
            else:
                which = to_numpy(ids)
            self._seen += count
        # the block as pieces: text before the first marker, the marker with its value,
        # text up to the next marker, ...; each marker with its value becomes its token
        cuts = np.empty(2 * count + 2, np.int32)
        cuts[0], cuts[-1] = 0, len(block)
        cuts[1:-1:2], cuts[2:-1:2] = heads, ends + 1
        pieces = pa.Array.from_buffers(pa.binary(), 2 * count + 1,
                                       [None, pa.py_buffer(cuts), data])
        order = np.arange(2 * count + 1, dtype=np.int32)
        order[1::2] = which + (2 * count + 1)
        out = pa.concat_arrays([pieces, tokens]).take(ints(order))
        _, offsets, values = out.buffers()
        return values[:int(np.frombuffer(offsets, np.int32)[len(out)])].to_pybytes()

    def _spans(self, block: bytes) -> tuple[np.ndarray, ...] | None:
        """(marker starts, text starts, text ends, bounds) of every value in ``block``, by
        array operations; None when some value has no closer before the next marker."""
        a = np.frombuffer(block, np.uint8)
        marker, width = self._marker, len(self._marker)
        opens = positions(a, marker[-1])
        opens = opens[opens >= width - 1]
        for k in range(width - 1):  # the bytes before each opener spell the marker
            opens = opens[a[opens - (width - 1 - k)] == marker[k]]
        if not len(opens):
            return opens, opens, opens, opens
        starts = opens + 1  # of each value's text, after its opener
        heads = opens - (width - 1)  # of each marker
        bounds = np.append(heads[1:], len(block))  # a value's text ends before the next
        closers = positions(a, self._closer[0])
        at = np.searchsorted(closers, starts)
        if at[-1] >= len(closers):
            return None
        ends = closers[at]
        if (ends >= bounds).any():
            return None
        return heads, starts, ends, bounds

    def _arrays(self) -> tuple[pa.Array, pa.Array]:
        """(the known texts, their tokens), in token order (under the lock)."""
        built = len(self._known)
        if built != len(self._rows):
            texts = binaries(list(itertools.islice(self._index, built, None)))
            tokens = binaries(self._tokens[built:])
            self._known = pa.concat_arrays([self._known, texts])
            self._token_array = pa.concat_arrays([self._token_array, tokens])
        return self._known, self._token_array

    def _extend(self, block: bytes, start: int, end: int, bound: int) -> tuple[int, int | None]:
        """(end, number) of the value whose text at ``start`` was cut short at ``end`` by a
        bracket inside a string: the first longer text up to a bracket that parses."""
        for _ in range(MAX_CUTS):
            end = block.find(self._closer, end + 1, bound)
            if end == -1:
                break
            text = block[start:end]
            number = self._number(text)
            if number is not None:
                return end, number
        return end, None

    def encode_parts(self, block: bytes) -> bytes | None:
        """What `encode` gives, one value at a time (steps over brackets inside strings)."""
        parts = block.split(self._marker)
        if len(parts) == 1:
            return block
        out = [parts[0]]
        append = out.append
        get = self._index.get
        tokens = self._tokens
        closer = self._closer
        new = {p[:p.find(closer)] for p in parts[1:]}.difference(self._index)
        if not self._worth(len(parts) - 1, list(new)):
            self.active = False
            return block
        for part in parts[1:]:  # find and slices: no tuple per value, no GC pressure
            end = part.find(closer)
            number = get(part[:end])
            if number is None:
                if end == -1:
                    return None
                number = self._learn(part[:end])
                for _ in range(MAX_CUTS):  # a bracket inside a string cut the text short
                    if number is not None:
                        break
                    end = part.find(closer, end + 1)
                    if end == -1:
                        return None
                    number = self._number(part[:end])
                if number is None:
                    return None
            append(tokens[number])
            append(part[end + 1:])
        self._seen += len(parts) - 1
        return b"".join(out)

    def _worth(self, count: int, new: list[bytes]) -> bool:
        """Whether a block of ``count`` values, ``new`` of them texts not seen before, is
        worth encoding: room left for them, and values still repeat (see `MIN_REPEAT`)."""
        if not new:
            return True
        if (len(self._rows) + len(new) > MAX_TEXTS
                or self._size + sum(map(len, new)) > MAX_TEXT_BYTES):
            return False
        return self._seen + count <= WARMUP or len(new) * MIN_REPEAT <= count

    def values(self) -> dict[tuple, pa.Array]:
        """Relative column path -> the column's values, in token order (every token given
        so far)."""
        with self._lock:
            return self._built_values()

    def _built_values(self) -> dict[tuple, pa.Array]:
        built = len(next(iter(self._values.values()))) if self._values else 0
        if self._values is None or built != len(self._rows):
            new = self._rows[built:]
            self._values = {
                c.path: pa.concat_arrays(
                    ([self._values[c.path]] if self._values else [])
                    + [from_values([row[c.name] for row in new], c.type)])
                for c in self.columns
            }
        return self._values

    def _number(self, text: bytes) -> int | None:
        """The number of ``text``, learnt now if it is new; None if it is refused."""
        number = self._index.get(text)
        return self._learn(text) if number is None else number

    def _learn(self, text: bytes) -> int | None:
        """Learn ``text`` (see the module docstring); its number, or None if refused."""
        opener, closer = (b"[", b"]") if self.list else (b"{", b"}")
        try:
            value = json.loads(opener + text + closer, object_pairs_hook=_pairs)
        except (ValueError, RecursionError, _Refused):
            return None
        # an unpaired surrogate can only come from a \ud800-\udfff escape (as in parse_line)
        if (b"\\ud" in text or b"\\uD" in text) and not _valid_unicode(value):
            return None
        record = {self.key: value}
        row = extract(record, self._wrapped)
        if record:  # something would be left for extra: the Python path must read it
            return None
        number = len(self._rows)
        self._tokens.append(b'"%s":%d' % (self.key.encode(), number))
        self._rows.append(row)
        self._index[text] = number
        self._size += len(text)
        return number
