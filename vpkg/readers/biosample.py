"""``biosample_report.jsonl`` -> the ``biosamples`` table."""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO

import pyarrow as pa

from vpkg.readers.jsonl import record_batches, report_rows
from vpkg.schema import BIOSAMPLE_COLUMNS, HARMONIZED, schema


def batches(stream: IO[bytes], where: str, batch_size: int) -> Iterator[pa.RecordBatch]:
    """Record batches of the ``biosamples`` table, one row per BioSample, in file order."""
    rows = (_harmonize(row) for row in report_rows(stream, where, BIOSAMPLE_COLUMNS))
    yield from record_batches(rows, schema("biosamples"), batch_size)


def _harmonize(row: dict) -> dict:
    """Fill harmonized columns the record lacks from the attribute of the same name."""
    attributes = {}
    for pair in row.get("attributes") or []:
        if pair and pair.get("name") is not None:
            attributes.setdefault(pair["name"], pair.get("value"))
    for column in HARMONIZED:
        if row.get(column) is None and column in attributes:
            row[column] = attributes[column]
    return row
