"""``data_report.jsonl`` (V2, and the older V1) -> the ``genomes`` table."""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO

import pyarrow as pa

from vpkg.readers.blocks import ReportReader, report_batches
from vpkg.readers.derive import add_derived
from vpkg.schema import GENOME_COLUMNS, GENOME_READ_SCHEMA

#: Values that repeat verbatim across lines (one per host, one per virus): each
#: distinct text is read once (see `vpkg.readers.dedupe`).
REPEATED = [("host", "lineage"), ("virus", "lineage")]


def batches(stream: IO[bytes], where: str, batch_size: int) -> Iterator[pa.RecordBatch]:
    """Record batches of the ``genomes`` table, one row per report line, in file order.

    Lines are parsed natively (pyarrow.json) wherever that is exact, and by the Python
    path otherwise (see `vpkg.readers.blocks`); the derived columns are then added to
    every batch in one place (`vpkg.readers.derive`), whichever path parsed it.
    """
    reader = ReportReader(where, GENOME_COLUMNS, GENOME_READ_SCHEMA, dedupe=REPEATED)
    for batch in report_batches(stream, where, reader, batch_size):
        yield add_derived(batch)
