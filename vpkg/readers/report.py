"""``data_report.jsonl`` (V2, and the older V1) -> the ``genomes`` table."""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO

import pyarrow as pa

from vpkg.readers.jsonl import record_batches, report_rows
from vpkg.schema import GENOME_COLUMNS, schema


def batches(stream: IO[bytes], where: str, batch_size: int) -> Iterator[pa.RecordBatch]:
    """Record batches of the ``genomes`` table, one row per report line, in file order."""
    rows = report_rows(stream, where, GENOME_COLUMNS)
    yield from record_batches(rows, schema("genomes"), batch_size)
