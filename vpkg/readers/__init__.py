"""One reader per member kind, each giving a streaming `pyarrow.RecordBatchReader`.

Readers know the package only through `Package.open_member`: nothing of HTTP or zips.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import pyarrow as pa

from vpkg.errors import IntegrityError
from vpkg.package import READ_ERRORS
from vpkg.schema import schema

if TYPE_CHECKING:  # pragma: no cover
    from vpkg.package import Package


def _batches_of(table: str) -> Callable:
    from vpkg.readers import annotation, biosample, fasta, report

    return {
        "genomes": report.batches,
        "genome_sequences": fasta.genome_batches,
        "cds_sequences": fasta.cds_batches,
        "protein_sequences": fasta.protein_batches,
        "annotations": annotation.batches,
        "biosamples": biosample.batches,
    }[table]


def open_reader(table: str, pkg: Package, member: str, batch_size: int) -> pa.RecordBatchReader:
    """A RecordBatchReader over ``member`` of ``pkg``, parsed as ``table``."""
    produce = _batches_of(table)
    where = f"{pkg.path}: {member}"

    def generate() -> Iterator[pa.RecordBatch]:
        with pkg.open_member(member) as stream:
            try:
                yield from produce(stream, where, batch_size)
            except READ_ERRORS as exc:
                raise IntegrityError(
                    f"{where} is corrupt ({exc}); download the package again", member=member
                ) from exc

    return pa.RecordBatchReader.from_batches(schema(table), generate())
