"""Native parsing of report blocks with ``pyarrow.json``: exact to the Python path, or refused.

`NativeReport.parse` reads a block of whole JSON lines under an explicit schema built from
the table's `Column` declarations (camelCase keys, nested as in the JSON) and returns the
table's columns. It returns None -- and the block goes to the Python path of
`vpkg.readers.jsonl`, which keeps every leftover in ``extra`` -- whenever the native result
could differ from that path's:

- a key the schema does not hold, at any depth, or a value of another JSON type
  (pyarrow refuses both: ``unexpected_field_behavior="error"``, strict conversions);
- a ``null`` anywhere (pyarrow cannot tell it from an absent key), an empty object where a
  struct is expected (the Python path keeps ``{}`` in ``extra``);
- a date that the Python path would keep in ``extra`` (a time other than midnight, an
  invalid day: each distinct text is checked by that path's own `convert`), an integer
  out of its column's range, a missing accession;
- a line not starting with ``{``, a blank line, two objects on a line, a fallback path
  (V1 ``sciName``) -- anything that is not one plain object per line.

So every row this module returns has nothing left over, and ``extra`` is null for it, as
the Python path gives. Repeated lineage lists are parsed once (`vpkg.readers.interning`).
"""

from __future__ import annotations

import functools
import threading

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from vpkg.readers.arrays import from_values, holds, scalar
from vpkg.readers.interning import ValueCodec
from vpkg.readers.jsonl import _MISSING, convert
from vpkg.readers.unknown_keys import extra_texts
from vpkg.schema import Column, camel

#: pyarrow.json's own block size (a report block is parsed in one piece, on one thread).
CHUNK = 4 << 20


def _source_type(typ: pa.DataType) -> pa.DataType | None:
    """The JSON-side type of an output type; None when natively unsupported."""
    if pa.types.is_date32(typ):
        return pa.string()
    if pa.types.is_string(typ) or pa.types.is_integer(typ) or pa.types.is_boolean(typ):
        return typ
    if pa.types.is_list(typ):
        item = _source_type(typ.value_type)
        return None if item is None else pa.list_(item)
    if pa.types.is_struct(typ):
        fields = []
        for f in typ:
            if pa.types.is_date32(f.type) or (child := _source_type(f.type)) is None:
                return None
            fields.append(pa.field(camel(f.name), child))
        return pa.struct(fields)
    return None


def _nest(columns: list[Column], tokens: set[tuple[str, ...]]) -> pa.Schema | None:
    """The explicit JSON schema; a value at a path in ``tokens`` is read as an integer."""
    tree: dict = {}
    for column in columns:
        if not column.path:
            continue
        token = next((p for p in tokens if column.path[:len(p)] == p), None)
        path = token or column.path
        typ = pa.int64() if token else _source_type(column.type)
        if typ is None:
            return None
        node = tree
        for key in path[:-1]:
            node = node.setdefault(key, {})
            if not isinstance(node, dict):
                return None
        node[path[-1]] = typ

    def build(node: dict) -> list[pa.Field]:
        return [pa.field(k, pa.struct(build(v)) if isinstance(v, dict) else v)
                for k, v in node.items()]

    return pa.schema(build(tree))


class NativeReport:
    """Parse report blocks natively for ``columns`` (see the module docstring).

    ``dedupe`` names the paths of repeated values read once per distinct text (see
    `vpkg.readers.interning`); paths ending in the same key must hold the same columns.
    """

    def __init__(self, columns: list[Column], schema: pa.Schema,
                 dedupe: list[tuple[str, ...]] = ()):
        self.columns = columns
        self.schema = schema
        self.plain = _nest(columns, set())
        self.codecs: list[ValueCodec] = []
        self._token_of: dict[str, tuple[tuple[str, ...], ValueCodec]] = {}
        for key in dict.fromkeys(p[-1] for p in dedupe):
            containers = [p for p in dedupe if p[-1] == key]
            inside = [c for c in columns if c.path[:len(containers[0])] == containers[0]]
            relative = [Column(c.name, c.type, c.path[len(containers[0]):], "", c.absent, (),
                               c.nullable) for c in inside]
            codec = ValueCodec(key, containers, relative)
            self.codecs.append(codec)
            for container in containers:
                for c in columns:
                    if c.path[:len(container)] == container:
                        self._token_of[c.name] = (container, codec)
        self._schemas: dict[frozenset, pa.Schema | None] = {}
        # one thread per block: the prefetch thread keeps the other core busy
        self._options = pj.ReadOptions(block_size=CHUNK, use_threads=False)
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.plain is not None

    def encode(self, block: bytes) -> tuple | None:
        """(``block`` with repeated values as tokens, its schema, the tokens' values).

        None when nothing is to be tokenized, a value's text must be read as is, or the
        block holds a ``null`` (pyarrow cannot tell it from an absent key).
        """
        applied = []
        for codec in self.codecs:
            if not codec.active:
                continue
            out = codec.encode(block)
            if out is None:
                return None
            if out is not block:
                block = out
                applied.append(codec)
        if not applied:
            return None
        key = frozenset(applied)
        with self._lock:
            if key not in self._schemas:
                paths = {p for codec in applied for p in codec.containers}
                self._schemas[key] = _nest(self.columns, paths)
        values = {codec: codec.values() for codec in applied}
        schema = self._schemas[key]
        if schema is None or not _screen(block):
            return None
        return block, schema, values

    def parse(self, block: bytes, lines: int, encoded: tuple | None) -> pa.Table | None:
        """The table of ``block`` (``lines`` lines, each starting with '{'), or None.

        ``encoded`` is what `encode` gave for the block; without it the block is read as is.
        """
        if self.plain is None:
            return None
        data, schema, values = encoded if encoded is not None else (block, self.plain, {})
        table = self._read(data, schema, lines)
        if table is None:
            return None
        extra = None
        known = schema.names
        if table.num_columns == len(schema):
            if table.schema != schema:  # a key the schema does not know inside an object
                return None
        else:  # top-level keys the schema does not know: kept in extra
            unknown = [n for n in table.column_names if n not in known]
            if table.select(known).schema != schema:
                return None
            extra = extra_texts(table, unknown, block.split(b"\n", lines)[:lines])
            if extra is None:
                return None
            table = table.select(known)
        return self._output(table, values, extra)

    def _read(self, data: bytes, schema: pa.Schema, lines: int) -> pa.Table | None:
        if schema is self.plain and not _screen(data):
            return None
        if lines * 64 > len(data) and data.count(b'"accession":') < lines:
            return None  # short lines without an accession ({}): refused without parsing
        options = pj.ParseOptions(explicit_schema=schema, unexpected_field_behavior="infer")
        try:
            table = pj.read_json(pa.BufferReader(data), read_options=self._options,
                                 parse_options=options)
            if not data.isascii():  # pyarrow.json does not check that strings are UTF-8
                table.validate(full=True)
        except (pa.ArrowException, ValueError, UnicodeError):
            return None
        return table if table.num_rows == lines else None

    def _output(self, table: pa.Table, values: dict,
                extra: pa.Array | None = None) -> pa.Table | None:
        rows = table.num_rows
        for name in table.column_names:
            column = table.column(name)
            if pa.types.is_struct(column.type) and _has_empty_struct(column):
                return None
        arrays = []
        for column in self.columns:
            if not column.path:
                arrays.append(extra if extra is not None and column.name == "extra"
                              else pa.nulls(rows, column.type))
                continue
            container, codec = self._token_of.get(column.name, (None, None))
            if codec in values:
                relative = column.path[len(container):]
                array = values[codec][relative].take(_at(table, container))
            else:
                array = _at(table, column.path)
                if pa.types.is_date32(column.type):
                    array = _dates(array)
                elif array.type != column.type:  # same layout, snake_case field names
                    array = pa.chunked_array([c.view(column.type) for c in array.chunks],
                                             column.type)
            if array is None:
                return None
            if column.absent is not None:
                array = pc.fill_null(array, _absent(column))
            elif not column.nullable and array.null_count:
                return None
            arrays.append(array)
        return pa.Table.from_arrays(arrays, schema=self.schema)


@functools.cache
def _absent(column: Column) -> pa.Scalar:
    """The value of an absent key (``is_annotated``: False)."""
    return scalar(column.absent, column.type)


def _screen(data: bytes) -> bool:
    """False when ``data`` holds the bytes ``null`` (a JSON null, or text in a string)."""
    return len(data) < 4 or not holds(data, b"null")


def _at(table: pa.Table, path: tuple[str, ...]) -> pa.ChunkedArray:
    array = table.column(path[0])
    for key in path[1:]:
        array = pc.struct_field(array, [array.type.get_field_index(key)])
    return array


def _has_empty_struct(array: pa.ChunkedArray) -> bool:
    """Whether some valid struct value has every child null: a ``{}`` in the JSON."""
    children = [pc.struct_field(array, [i]) for i in range(array.type.num_fields)]
    # a child null only where the struct is (struct_field gives the struct's nulls) is
    # present in every value: no value is empty, without comparing the children
    if not any(c.null_count == array.null_count for c in children):
        empty = pc.is_valid(array)
        for child in children:
            empty = pc.and_(empty, pc.is_null(child))
        if pc.any(empty).as_py():
            return True
    return any(pa.types.is_struct(c.type) and _has_empty_struct(c) for c in children)


#: Dates that Arrow's cast reads as the Python path does (``date.fromisoformat`` of the first
#: ten characters, followed by nothing or midnight UTC); year 0 is refused by Python only.
_PLAIN_DATE = r"^(?:000[1-9]|00[1-9]\d|0[1-9]\d\d|[1-9]\d{3})-\d\d-\d\d(?:T00:00:00Z)?$"


def _dates(array: pa.ChunkedArray) -> pa.ChunkedArray | None:
    """date32 of the strings, or None if any needs the Python path (a time, a bad date).

    Plain ``YYYY-MM-DD`` texts are cast by Arrow (which refuses a day that does not exist,
    as Python does); when some text is not plain, each distinct text is converted once by
    the Python path's own `convert`.
    """
    plain = pc.match_substring_regex(array, _PLAIN_DATE)
    if pc.all(plain).as_py() is not False:
        try:
            return pc.cast(pc.utf8_slice_codeunits(array, 0, 10), pa.date32())
        except pa.ArrowInvalid:
            pass
    distinct = array.unique()
    days = []
    for text in distinct.to_pylist():
        day, left = convert(text, pa.date32())
        if left is not _MISSING:
            return None
        days.append(day)
    return from_values(days, pa.date32()).take(pc.index_in(array, value_set=distinct))
