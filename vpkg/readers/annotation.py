"""``annotation_report.jsonl`` -> the ``annotations`` table: one row per CDS.

Each report line holds a genome's genes, each gene its CDS, each CDS its mature peptides.
Rows repeat the record and gene fields; a gene without CDS gives one row with null CDS
fields. Leftovers at each level go to ``extra`` as ``{"record": …, "gene": …, "cds": …}``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO

import pyarrow as pa

from vpkg import schema
from vpkg.readers.jsonl import (
    extra_text,
    extract,
    iter_json_lines,
    record_batches,
    require_accession,
)
from vpkg.schema import ANNOTATION_COLUMNS, RANGES, STRINGS, Column

_S = pa.string()


def _read_from(within: str) -> list[Column]:
    """The declared annotation columns read from the JSON objects at ``within``."""
    return [c for c in ANNOTATION_COLUMNS if isinstance(c, Column) and c.within == within]


RECORD, GENE, CDS = _read_from(""), _read_from(schema.GENE), _read_from(schema.CDS)
PEPTIDE = [
    Column("accession", _S, ("accession",), ""),
    Column("name", _S, ("name",), ""),
    Column("other_names", STRINGS, ("otherNames",), ""),
    Column("nucleotide_ranges", RANGES, ("nucleotide", "range"), ""),
    Column("protein_accession", _S, ("protein", "accessionVersion"), ""),
    Column("protein_id", _S, ("protein", "seqId"), ""),
    Column("protein_ranges", RANGES, ("protein", "range"), ""),
    Column("completeness", _S, ("proteinCompleteness",), ""),
]


def batches(stream: IO[bytes], where: str, batch_size: int) -> Iterator[pa.RecordBatch]:
    """Record batches of the ``annotations`` table, in file order."""
    yield from record_batches(_rows(stream, where), schema.schema("annotations"), batch_size)


def _rows(stream: IO[bytes], where: str) -> Iterator[dict]:
    for number, record in iter_json_lines(stream, where):
        base = extract(record, RECORD)
        require_accession(base, where, number)
        genes = record.pop("genes", None)
        if not isinstance(genes, list) or not genes:
            if genes is not None:
                record["genes"] = genes  # not a list: kept verbatim
            continue  # a genome without genes has no annotation rows
        for gene_index, gene in enumerate(genes):
            yield from _gene_rows(base, record, gene_index, gene)


def _gene_rows(base: dict, record: dict, gene_index: int, gene) -> Iterator[dict]:
    gene = dict(gene) if isinstance(gene, dict) else {"value": gene}
    row = dict(base, gene_index=gene_index, **extract(gene, GENE))
    row["gene_begin"], row["gene_end"] = _span(row["gene_ranges"])
    cds_list = gene.pop("cds", None)
    if not isinstance(cds_list, list) or not cds_list:
        if cds_list is not None:
            gene["cds"] = cds_list
        row["extra"] = _extra(record, gene, {})
        yield row
        return
    for cds_index, cds in enumerate(cds_list):
        cds = dict(cds) if isinstance(cds, dict) else {"value": cds}
        out = dict(row, cds_index=cds_index, **extract(cds, CDS))
        out["cds_begin"], out["cds_end"] = _span(out["cds_ranges"])
        out["protein_length"] = _length(out["protein_ranges"])
        out["mature_peptides"] = _peptides(cds)
        out["extra"] = _extra(record, gene, cds)
        yield out


def _peptides(cds: dict) -> list[dict] | None:
    peptides = cds.pop("maturePeptide", None)
    if not isinstance(peptides, list):
        if peptides is not None:
            cds["maturePeptide"] = peptides
        return None
    out, leftovers = [], []
    for peptide in peptides:
        peptide = dict(peptide) if isinstance(peptide, dict) else {"value": peptide}
        item = extract(peptide, PEPTIDE)
        item["protein_begin"], item["protein_end"] = _span(item["protein_ranges"])
        out.append(item)
        leftovers.append(peptide)
    if any(leftovers):
        cds["maturePeptide"] = leftovers
    return out


def _span(ranges: list[dict] | None) -> tuple[int | None, int | None]:
    """Smallest and largest coordinate over the ranges (None when there are none)."""
    ends = [v for r in ranges or [] if r for v in (r["begin"], r["end"]) if v is not None]
    return (min(ends), max(ends)) if ends else (None, None)


def _length(ranges: list[dict] | None) -> int | None:
    begin, end = _span(ranges)
    return None if begin is None else end - begin + 1


def _extra(record: dict, gene: dict, cds: dict) -> str | None:
    parts = {k: v for k, v in (("record", record), ("gene", gene), ("cds", cds)) if v}
    return extra_text(parts)
