"""The one registry of tables: for each, its source member, catalog file type, columns, reader
and warehouse key. Every other module reads it; adding a table is one entry here (plus its
columns in `vpkg.schema` and its reader in `vpkg.readers`).

The registry holds names only (no pyarrow), so that the fetch layer can use it without
loading Arrow: ``columns`` names a column list of `vpkg.schema`, ``reader`` a function
``module:name`` that `vpkg.sources` imports on first use.

>>> from vpkg.tables import TABLES, spec
>>> list(TABLES)[:2]
['genomes', 'genome_sequences']
>>> spec("cds_sequences").file_name, spec("cds_sequences").key
('cds.fna', ('id',))
"""

from __future__ import annotations

from dataclasses import dataclass

from vpkg.errors import ParameterError

#: Where the data members of a package live.
DATA_DIR = "ncbi_dataset/data"


@dataclass(frozen=True)
class TableSpec:
    """One table of a package.

    Attributes
    ----------
    name
        The table name (``genomes``).
    file_name
        The member's usual file name under ``ncbi_dataset/data/``.
    file_type
        The member's ``fileType`` in ``dataset_catalog.json``.
    one_row_per
        What a row is, for the docs.
    columns
        The name of the column list in `vpkg.schema` (``GENOME_TABLE_COLUMNS``).
    reader
        ``module:function`` giving record batches: ``function(stream, where, batch_size)``.
    key
        The warehouse key, one row each, kept by the load (empty: the table is replaced per
        accession).
    version
        The column a newer record is recognised by in the warehouse (None: no version).
    fasta
        Whether the member is FASTA (merged by concatenating records).
    genome_keyed
        Whether the table's ``accession`` is its genome's (it joins ``genomes`` on it).
    """

    name: str
    file_name: str
    file_type: str
    one_row_per: str
    columns: str
    reader: str
    key: tuple[str, ...] = ()
    version: str | None = None
    fasta: bool = False
    genome_keyed: bool = False

    @property
    def usual_member(self) -> str:
        """The member path where the table is found without a catalog."""
        return f"{DATA_DIR}/{self.file_name}"


# order is the order of `Package.tables()` and of every export
TABLES: dict[str, TableSpec] = {
    t.name: t
    for t in [
        TableSpec("genomes", "data_report.jsonl", "DATA_REPORT", "nucleotide record",
                  "GENOME_TABLE_COLUMNS", "vpkg.readers.report:batches",
                  key=("accession",), version="update_date"),
        TableSpec("genome_sequences", "genomic.fna", "GENOMIC_NUCLEOTIDE_FASTA",
                  "genome sequence", "GENOME_SEQUENCE_COLUMNS",
                  "vpkg.readers.fasta:genome_batches", key=("accession",), fasta=True,
                  genome_keyed=True),
        TableSpec("cds_sequences", "cds.fna", "CDS_NUCLEOTIDE_FASTA", "CDS sequence",
                  "CDS_SEQUENCE_COLUMNS", "vpkg.readers.fasta:cds_batches", key=("id",),
                  fasta=True, genome_keyed=True),
        TableSpec("protein_sequences", "protein.faa", "PROTEIN_FASTA", "protein sequence",
                  "PROTEIN_SEQUENCE_COLUMNS", "vpkg.readers.fasta:protein_batches",
                  key=("id",), fasta=True),
        TableSpec("annotations", "annotation_report.jsonl", "ANNOTATION_REPORT",
                  "annotated CDS (gene fields repeated; a gene without CDS gives one row with "
                  "null CDS fields)", "ANNOTATION_COLUMNS", "vpkg.readers.annotation:batches",
                  genome_keyed=True),
        TableSpec("biosamples", "biosample_report.jsonl", "BIOSAMPLE_REPORT", "BioSample",
                  "BIOSAMPLE_COLUMNS", "vpkg.readers.biosample:batches",
                  key=("accession",), version="last_updated"),
    ]
}


#: The tables whose ``accession`` is a genome accession, in registry order.
GENOME_KEYED = tuple(t.name for t in TABLES.values() if t.genome_keyed)
#: The FASTA tables, in registry order.
FASTA_TABLES = tuple(t.name for t in TABLES.values() if t.fasta)


def spec(table: str) -> TableSpec:
    """The registry entry of ``table``; a `ParameterError` listing the tables otherwise."""
    try:
        return TABLES[table]
    except (KeyError, TypeError):
        raise ParameterError(
            f"unknown table {table!r}; the tables are: {', '.join(TABLES)}", parameter="table"
        ) from None


def by_file_name(file_name: str) -> TableSpec | None:
    """The table read from a member of this file name (``cds.fna``), if any."""
    return next((t for t in TABLES.values() if t.file_name == file_name), None)
