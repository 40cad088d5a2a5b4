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
object of scalars and lists); when a bracket inside a string cuts a text short, the text
is not valid JSON and is refused.
"""

from __future__ import annotations

import json

import pyarrow as pa

from vpkg.readers.jsonl import _valid_unicode, extract
from vpkg.schema import Column

#: At most this many distinct texts, or this many bytes of them, are remembered per value.
MAX_TEXTS = 50_000
MAX_TEXT_BYTES = 64 << 20


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
        self._index: dict[bytes, bytes] = {}
        self._rows: list[dict] = []
        self._size = 0
        self._values: dict[tuple, pa.Array] | None = None

    def encode(self, block: bytes) -> bytes | None:
        """``block`` with every value replaced by its token, or None if one is refused."""
        parts = block.split(self._marker)
        if len(parts) == 1:
            return block
        out = [parts[0]]
        append = out.append
        get = self._index.get
        closer = self._closer
        for part in parts[1:]:
            text, close, rest = part.partition(closer)
            token = get(text)
            if token is None:
                token = self._learn(text) if close else None
                if token is None:
                    return None
            append(token)
            append(rest)
        return b"".join(out)

    def values(self) -> dict[tuple, pa.Array]:
        """Relative column path -> the column's values, in token order."""
        if self._values is None or len(next(iter(self._values.values()))) != len(self._rows):
            self._values = {
                c.path: pa.array([row[c.name] for row in self._rows], c.type)
                for c in self.columns
            }
        return self._values

    def _learn(self, text: bytes) -> bytes | None:
        if len(self._rows) >= MAX_TEXTS or self._size + len(text) > MAX_TEXT_BYTES:
            return None
        opener, closer = (b"[", b"]") if self.list else (b"{", b"}")
        try:
            value = json.loads(opener + text + closer, object_pairs_hook=_pairs)
        except (ValueError, RecursionError, _Refused):
            return None
        if not _valid_unicode(value):
            return None
        record = {self.key: value}
        wrapped = [Column(c.name, c.type, (self.key, *c.path), "", c.absent, (), c.nullable)
                   for c in self.columns]
        row = extract(record, wrapped)
        if record:  # something would be left for extra: the Python path must read it
            return None
        token = b'"%s":%d' % (self.key.encode(), len(self._rows))
        self._rows.append(row)
        self._index[text] = token
        self._size += len(text)
        return token
