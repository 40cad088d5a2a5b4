"""The Arrow schemas of every table and the documentation of every column: one source of truth.

Report tables (``genomes``, ``biosamples``) are declared as `Column` objects that name the
JSON path each column is read from; the readers follow these declarations, and the pages
under ``docs/tables/`` are generated from them (``python -m vpkg.schema docs/tables``).

JSON keys inside a package are protobuf-JSON lowerCamelCase. Nested structs and lists of
structs name their Arrow fields in snake_case; the JSON key of each is its lowerCamelCase
form (``tax_id`` <- ``taxId``).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pyarrow as pa

from vpkg.tables import TABLES, spec

# ---- column declarations -----------------------------------------------------------------

#: How absent values are filled: ``None`` gives null; a value gives that value.
ABSENT_IS_NULL = None


@dataclass(frozen=True)
class Column:
    """A table column: its name, Arrow type, JSON source path and documentation.

    ``path`` is a tuple of lowerCamelCase keys; ``fallbacks`` are further paths read when
    ``path`` is absent (older V1 reports); ``absent`` is the value used when every path is
    absent (proto3 omits false booleans, so ``is_annotated`` uses ``False``).
    """

    name: str
    type: pa.DataType
    path: tuple[str, ...]
    doc: str
    absent: object = ABSENT_IS_NULL
    fallbacks: tuple[tuple[str, ...], ...] = ()
    nullable: bool = True
    #: The repeated object ``path`` is relative to, e.g. ``genes[].cds[]`` (empty: the record).
    within: str = ""

    @property
    def source(self) -> str:
        prefix = f"{self.within}." if self.within else ""
        paths = [self.path, *self.fallbacks]
        return " or ".join(prefix + ".".join(p) for p in paths) if self.path else ""

    def arrow_field(self) -> pa.Field:
        return pa.field(self.name, self.type, nullable=self.nullable)


@cache  # called for every struct field of every value the Python path converts
def camel(snake: str) -> str:
    """The protobuf JSON name of a snake_case field: ``tax_id`` -> ``taxId``."""
    head, *rest = snake.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


TAXON = pa.struct([pa.field("tax_id", pa.int64()), pa.field("name", pa.string())])
LINEAGE = pa.list_(pa.field("item", TAXON))
STRINGS = pa.list_(pa.string())
EXTRA_DOC = (
    "Every field of the JSON record that has no column of its own, as a JSON object text "
    "with the original nesting and camelCase keys (null when there is none)."
)


def _extra() -> Column:
    return Column("extra", pa.string(), (), EXTRA_DOC)


# ---- genomes: data_report.jsonl ------------------------------------------------------------

GENOME_COLUMNS: list[Column] = [
    Column("accession", pa.string(), ("accession",), "Nucleotide accession.version.",
           nullable=False),
    Column("source_database", pa.string(), ("sourceDatabase",), "GenBank or RefSeq."),
    Column("completeness", pa.string(), ("completeness",), "COMPLETE, PARTIAL or UNKNOWN."),
    Column("is_annotated", pa.bool_(), ("isAnnotated",),
           "Annotated by the submitter or NCBI. Absent in the JSON means false.", absent=False),
    Column("length", pa.int64(), ("length",), "Sequence length in bases."),
    Column("gene_count", pa.int32(), ("geneCount",),
           "Annotated genes. Absent in the JSON (proto3 default) gives 0.", absent=0),
    Column("protein_count", pa.int32(), ("proteinCount",),
           "Annotated proteins and polyproteins, not mature peptides. Absent gives 0.",
           absent=0),
    Column("mature_peptide_count", pa.int32(), ("maturePeptideCount",),
           "Annotated mature peptides. Absent gives 0.", absent=0),
    Column("segment", pa.string(), ("segment",), "Segment name for segmented viruses."),
    Column("release_date", pa.date32(), ("releaseDate",),
           "First release in NCBI Virus (the date of `2020-01-13T00:00:00Z`; a time other "
           "than midnight is also kept verbatim in `extra`)."),
    Column("update_date", pa.date32(), ("updateDate",), "Last update in NCBI Virus."),
    Column("collection_date", pa.string(), ("isolate", "collectionDate"),
           "Collection date verbatim: `YYYY`, `YYYY-MM` or `YYYY-MM-DD`."),
    Column("isolate_name", pa.string(), ("isolate", "name"), "Isolate name."),
    Column("isolate_source", pa.string(), ("isolate", "source"),
           "Source material of the specimen."),
    Column("host_tax_id", pa.int64(), ("host", "taxId"), "Host taxonomy id."),
    Column("host_name", pa.string(), ("host", "organismName"),
           "Host scientific name (V1 reports: `host.sciName`).",
           fallbacks=(("host", "sciName"),)),
    Column("host_lineage", LINEAGE, ("host", "lineage"),
           "Host lineage, root first: list of {tax_id <- taxId, name}."),
    Column("virus_tax_id", pa.int64(), ("virus", "taxId"), "Virus taxonomy id."),
    Column("virus_name", pa.string(), ("virus", "organismName"),
           "Virus scientific name (V1 reports: `virus.sciName`).",
           fallbacks=(("virus", "sciName"),)),
    Column("virus_lineage", LINEAGE, ("virus", "lineage"),
           "Virus lineage, root first: list of {tax_id <- taxId, name}."),
    Column("pangolin_classification", pa.string(), ("virus", "pangolinClassification"),
           "Pango lineage (SARS-CoV-2)."),
    Column("geo_location", pa.string(), ("location", "geographicLocation"),
           "Country (and place) of collection."),
    Column("geo_region", pa.string(), ("location", "geographicRegion"),
           "Continent or region of collection."),
    Column("usa_state", pa.string(), ("location", "usaState"),
           "Two-letter U.S. state of collection."),
    Column("bioprojects", STRINGS, ("bioprojects",), "BioProject accessions."),
    Column("sra_accessions", STRINGS, ("sraAccessions",), "SRA run accessions."),
    Column("biosample", pa.string(), ("biosample",),
           "BioSample accession; joins `biosamples.accession`."),
    Column("submitter_names", STRINGS, ("submitter", "names"), "Submitter names."),
    Column("submitter_affiliation", pa.string(), ("submitter", "affiliation"),
           "Submitter's institution."),
    Column("submitter_country", pa.string(), ("submitter", "country"),
           "Country of the submitter's affiliation."),
    Column("lab_host", pa.string(), ("labHost",), "Host the virus was passaged in."),
    Column("is_lab_host", pa.bool_(), ("isLabHost",),
           "Passaged in a laboratory. Absent means false.", absent=False),
    Column("is_vaccine_strain", pa.bool_(), ("isVaccineStrain",),
           "Derived from a vaccine strain. Absent means false.", absent=False),
    Column("sequence_hash", pa.string(), ("nucleotide", "sequenceHash"),
           "NCBI's opaque change token for the sequence (8 hex digits)."),
    _extra(),
]

# ---- biosamples: biosample_report.jsonl ----------------------------------------------------

SAMPLE_ID = pa.struct([pa.field(n, pa.string()) for n in ("db", "label", "value")])
ATTRIBUTE = pa.struct([pa.field("name", pa.string()), pa.field("value", pa.string())])
BIOPROJECT = pa.struct([
    pa.field("accession", pa.string()),
    pa.field("title", pa.string()),
    pa.field("parent_accession", pa.string()),
    pa.field("parent_accessions", STRINGS),
])
CONTACT = pa.struct([pa.field("lab", pa.string())])

#: Harmonized BioSample attributes. Each column is read from the JSON key `camel(column)`;
#: when that is absent, from the attribute whose name is the column name.
HARMONIZED = [
    "collection_date", "geo_loc_name", "lat_lon", "host", "host_disease", "isolate", "strain",
    "isolation_source", "collected_by", "sample_name", "serotype", "age", "sex", "tissue",
    "dev_stage", "breed", "cultivar", "ecotype", "biomaterial_provider", "identified_by",
    "ifsac_category", "isolate_name_alias", "project_name", "serovar", "source_type",
    "sub_species",
]

BIOSAMPLE_COLUMNS: list[Column] = [
    Column("accession", pa.string(), ("accession",),
           "BioSample accession; joins `genomes.biosample`.", nullable=False),
    Column("title", pa.string(), ("description", "title"), "Sample title."),
    Column("comment", pa.string(), ("description", "comment"), "Sample description."),
    Column("organism_tax_id", pa.int64(), ("description", "organism", "taxId"),
           "Taxonomy id of the sampled organism."),
    Column("organism_name", pa.string(), ("description", "organism", "organismName"),
           "Name of the sampled organism.",
           fallbacks=(("description", "organism", "sciName"),)),
    Column("owner_name", pa.string(), ("owner", "name"), "Owner (submitting organisation)."),
    Column("owner_contacts", pa.list_(pa.field("item", CONTACT)), ("owner", "contacts"),
           "Owner contacts: list of {lab}."),
    Column("package", pa.string(), ("package",), "BioSample package, e.g. `Generic.1.0`."),
    Column("models", STRINGS, ("models",), "BioSample models."),
    Column("status", pa.string(), ("status", "status"), "Status, e.g. `live`."),
    Column("status_date", pa.timestamp("ms"), ("status", "when"), "When the status was set."),
    Column("submission_date", pa.timestamp("ms"), ("submissionDate",), "Submitted."),
    Column("publication_date", pa.timestamp("ms"), ("publicationDate",), "Published."),
    Column("last_updated", pa.timestamp("ms"), ("lastUpdated",), "Last updated."),
    Column("sample_ids", pa.list_(pa.field("item", SAMPLE_ID)), ("sampleIds",),
           "Other identifiers: list of {db, label, value}."),
    Column("bioprojects", pa.list_(pa.field("item", BIOPROJECT)), ("bioprojects",),
           "BioProjects: list of {accession, title, parent_accession, parent_accessions}."),
    Column("attributes", pa.list_(pa.field("item", ATTRIBUTE)), ("attributes",),
           "Every attribute (name, value) pair, in file order."),
    *[
        Column(name, pa.string(), (camel(name),),
               f"Harmonized `{camel(name)}`; when absent, the value of the attribute "
               f"named `{name}`.")
        for name in HARMONIZED
    ],
    _extra(),
]

# ---- sequences -----------------------------------------------------------------------------

RANGE = pa.struct([
    pa.field("begin", pa.int64()),
    pa.field("end", pa.int64()),
    pa.field("complement", pa.bool_()),
])


@dataclass(frozen=True)
class Doc:
    """A column that is not read from a JSON path: name, type and documentation."""

    name: str
    type: pa.DataType
    doc: str
    source: str = ""
    nullable: bool = True

    def arrow_field(self) -> pa.Field:
        return pa.field(self.name, self.type, nullable=self.nullable)


#: The last two columns of every sequence table.
_SEQUENCE_COLUMNS = [
    Doc("sequence", pa.large_string(),
        "Sequence letters exactly as in the file (case kept), line breaks removed.",
        "sequence lines"),
    Doc("length", pa.int64(), "Bytes in `sequence`: its letters, as FASTA sequences are ASCII.",
        "sequence lines", nullable=False),
]

GENOME_SEQUENCE_COLUMNS = [
    Doc("accession", pa.string(), "First word of the header.", "header", nullable=False),
    Doc("description", pa.string(), "The rest of the header (null when there is none).",
        "header"),
    *_SEQUENCE_COLUMNS,
]

_FEATURE_COLUMNS = [
    Doc("description", pa.string(), "The rest of the header, verbatim, brackets included.",
        "header"),
    Doc("name", pa.string(), "The title before the first `[key=value]` field.", "header"),
    Doc("organism", pa.string(), "The `[organism=...]` header field.", "header"),
    Doc("isolate", pa.string(), "The `[isolate=...]` header field.", "header"),
    Doc("header_fields", pa.map_(pa.string(), pa.string()),
        "Every bracketed `[key=value]` header field, in header order.", "header"),
    *_SEQUENCE_COLUMNS,
]

CDS_SEQUENCE_COLUMNS = [
    Doc("id", pa.string(), "First word of the header, e.g. `NC_045512.2:266-21555`.",
        "header", nullable=False),
    Doc("accession", pa.string(), "The nucleotide accession the CDS lies on.", "header"),
    Doc("ranges", pa.list_(pa.field("item", RANGE)),
        "The ranges in the id, 1-based inclusive, in order: list of {begin, end, "
        "complement} (`c` before a range means the complement strand). Null when the "
        "id carries no range.", "header"),
    *_FEATURE_COLUMNS,
]

PROTEIN_SEQUENCE_COLUMNS = [
    Doc("id", pa.string(), "First word of the header, e.g. `YP_009724389.1:1-180`.",
        "header", nullable=False),
    Doc("accession", pa.string(), "The protein accession.", "header"),
    Doc("ranges", pa.list_(pa.field("item", RANGE)),
        "The ranges in the id, on the protein (mature peptides lie inside a polyprotein): "
        "list of {begin, end, complement}.", "header"),
    *_FEATURE_COLUMNS,
]

# ---- annotations: annotation_report.jsonl ---------------------------------------------------

REPORT_RANGE = pa.struct([
    pa.field("begin", pa.int64()),
    pa.field("end", pa.int64()),
    pa.field("orientation", pa.string()),
    pa.field("order", pa.int32()),
    pa.field("ribosomal_slippage", pa.int32()),
])
RANGES = pa.list_(pa.field("item", REPORT_RANGE))
CDD = pa.struct([
    pa.field("accession", pa.string()),
    pa.field("name", pa.string()),
    pa.field("range", REPORT_RANGE),
])
MATURE_PEPTIDE = pa.struct([
    pa.field("accession", pa.string()),
    pa.field("name", pa.string()),
    pa.field("other_names", STRINGS),
    pa.field("nucleotide_ranges", RANGES),
    pa.field("protein_accession", pa.string()),
    pa.field("protein_id", pa.string()),
    pa.field("protein_ranges", RANGES),
    pa.field("protein_begin", pa.int64()),
    pa.field("protein_end", pa.int64()),
    pa.field("completeness", pa.string()),
])

#: The repeated objects of an annotation report line that columns are read from.
GENE, CDS = "genes[]", "genes[].cds[]"

ANNOTATION_COLUMNS = [
    Column("accession", pa.string(), ("accession",),
           "Nucleotide accession; joins `genomes.accession`.", nullable=False),
    Column("isolate_name", pa.string(), ("isolateName",), "Isolate name."),
    Doc("gene_index", pa.int32(), "Position of the gene in the record's `genes`, from 0.",
        "genes[i]", nullable=False),
    Column("gene_name", pa.string(), ("name",), "Gene name.", within=GENE),
    Column("gene_id", pa.int64(), ("geneId",), "NCBI Gene id.", within=GENE),
    Doc("gene_begin", pa.int64(), "Smallest coordinate of the gene's ranges (1-based).",
        "genes[].nucleotide.range[].begin/end"),
    Doc("gene_end", pa.int64(), "Largest coordinate of the gene's ranges (1-based).",
        "genes[].nucleotide.range[].begin/end"),
    Column("gene_ranges", RANGES, ("nucleotide", "range"),
           "The gene's ranges on the genome, as in the report.", within=GENE),
    Doc("cds_index", pa.int32(),
        "Position of the CDS in the gene's `cds`, from 0 (null for a gene without CDS).",
        "genes[].cds[i]"),
    Column("protein_accession", pa.string(), ("accession",),
           "Protein accession.version; joins `protein_sequences.accession`.", within=CDS),
    Column("protein_name", pa.string(), ("name",), "Protein name.", within=CDS),
    Column("other_names", STRINGS, ("otherNames",), "Other protein names.", within=CDS),
    Column("protein_completeness", pa.string(), ("proteinCompleteness",),
           "COMPLETE, PARTIAL or UNKNOWN.", within=CDS),
    Column("cds_id", pa.string(), ("nucleotide", "seqId"),
           "The CDS sequence id, e.g. `NC_045512.2:266-21555`; joins `cds_sequences.id`.",
           within=CDS),
    Column("protein_id", pa.string(), ("protein", "seqId"),
           "The protein sequence id, e.g. `YP_009724389.1:1-7096`; joins "
           "`protein_sequences.id`.", within=CDS),
    Doc("cds_begin", pa.int64(), "Smallest coordinate of the CDS ranges (1-based).",
        "genes[].cds[].nucleotide.range"),
    Doc("cds_end", pa.int64(), "Largest coordinate of the CDS ranges (1-based).",
        "genes[].cds[].nucleotide.range"),
    Column("cds_ranges", RANGES, ("nucleotide", "range"),
           "The CDS ranges on the genome, in order.", within=CDS),
    Column("protein_ranges", RANGES, ("protein", "range"),
           "The protein's range(s), as in the report.", within=CDS),
    Doc("protein_length", pa.int64(),
        "Length of the protein range (end - begin + 1) when the report gives one.",
        "genes[].cds[].protein.range"),
    Column("pdb_ids", STRINGS, ("pdbIds",), "PDB identifiers.", within=CDS),
    Column("uniprot_id", pa.string(), ("uniProtKb", "id"), "UniProtKB id.", within=CDS),
    Column("uniprot_name", pa.string(), ("uniProtKb", "name"), "UniProtKB name.",
           within=CDS),
    Column("conserved_domains", pa.list_(pa.field("item", CDD)), ("cdd",),
           "CDD domains: list of {accession, name, range {begin, end, ...}} on the protein.",
           within=CDS),
    Doc("mature_peptides", pa.list_(pa.field("item", MATURE_PEPTIDE)),
        "Mature peptides cut from this CDS: list of {accession, name, other_names, "
        "nucleotide_ranges, protein_accession, protein_id (joins `protein_sequences.id`), "
        "protein_ranges, protein_begin, protein_end (span of protein_ranges), completeness}.",
        "genes[].cds[].maturePeptide"),
    Doc("extra", pa.string(),
        "Every field of the record, gene or CDS that has no column of its own, as a JSON "
        "object text: `{\"record\": {...}, \"gene\": {...}, \"cds\": {...}}` holding only "
        "the parts that have leftovers, with original nesting and keys (null when none).",
        "any other field"),
]

# ---- genomes: derived columns --------------------------------------------------------------

#: Columns of ``genomes`` computed from a verbatim column after parsing (see
#: `vpkg.readers.derive`), each placed right after the column it comes from. The verbatim
#: text always stays; a derived value is null when the text does not parse.
GENOME_DERIVED: dict[str, list[Doc]] = {
    "collection_date": [
        Doc("collection_year", pa.int32(),
            "Derived: the year of `collection_date` (`2019-05` gives 2019).",
            "isolate.collectionDate"),
        Doc("collection_date_precision", pa.string(),
            "Derived: `year` (`2019`), `month` (`2019-05`) or `day` (`2019-05-03`); null "
            "when `collection_date` is not such a date.", "isolate.collectionDate"),
        Doc("collection_date_start", pa.date32(),
            "Derived: the first day the text covers (`2019` gives 2019-01-01, `2019-05` "
            "gives 2019-05-01).", "isolate.collectionDate"),
        Doc("collection_date_end", pa.date32(),
            "Derived: the last day the text covers (`2019` gives 2019-12-31; `2016-02`, "
            "as in MF993028.1, gives 2016-02-29); `WHERE collection_date_start >= DATE "
            "'2019-06-01'` needs no string parsing. Null (all four) for a text that is no "
            "such date, e.g. an impossible `2019-02-30`.", "isolate.collectionDate"),
    ],
    "geo_location": [
        Doc("geo_country", pa.string(),
            "Derived: the INSDC country, the text before the first `:` (`USA: Texas, "
            "Houston` gives USA; `China` gives China). Spaces around parts are removed.",
            "location.geographicLocation"),
        Doc("geo_division", pa.string(),
            "Derived: the text after the `:` up to the first comma (`Texas`; "
            "`Japan:Hokkaido, Oshima` gives Hokkaido); null when there is none.",
            "location.geographicLocation"),
        Doc("geo_locality", pa.string(),
            "Derived: the rest after that comma, verbatim (`Japan:Niigata, Sato, Lake Kamo` "
            "gives `Sato, Lake Kamo`; `Iran: Toroq,Mashhad,Khorasan Razavi province` gives "
            "`Mashhad,Khorasan Razavi province`); null when there is none.",
            "location.geographicLocation"),
    ],
}

#: The columns the ``genomes`` reader parses from JSON, before the derived ones are added.
GENOME_READ_SCHEMA = pa.schema([c.arrow_field() for c in GENOME_COLUMNS])


def _with_derived(columns: list, derived: dict[str, list[Doc]]) -> list:
    return [d for c in columns for d in (c, *derived.get(c.name, ()))]


#: Every column of ``genomes``: those read from JSON, each followed by its derived ones.
GENOME_TABLE_COLUMNS = _with_derived(GENOME_COLUMNS, GENOME_DERIVED)


# ---- the tables ----------------------------------------------------------------------------


def columns(table: str) -> list:
    """The column declarations of a table (`Column` or `Doc`), in schema order."""
    return globals()[spec(table).columns]


def schema(table: str) -> pa.Schema:
    """The fixed Arrow schema of a table.

    >>> schema("genome_sequences").names
    ['accession', 'description', 'sequence', 'length']
    """
    return pa.schema([c.arrow_field() for c in columns(table)])


# ---- documentation -------------------------------------------------------------------------


def _type_text(t: pa.DataType) -> str:
    return str(t).replace("<item: ", "<")


def table_markdown(table: str) -> str:
    """The documentation page of a table, generated from its column declarations."""
    t = spec(table)
    lines = [
        f"# `{t.name}`",
        "",
        f"Source member: `{t.usual_member}`. One row per {t.one_row_per}.",
        "Rows keep file order. Generated from `vpkg/schema.py` by "
        "`python -m vpkg.schema docs/tables`; do not edit by hand.",
        "",
        "| column | Arrow type | from | meaning |",
        "|---|---|---|---|",
    ]
    for c in columns(table):
        source = c.source
        source = f"`{source}`" if source else ""
        not_null = " not null" if not c.nullable else ""
        doc = c.doc.replace("|", "\\|")
        lines.append(f"| `{c.name}` | `{_type_text(c.type)}`{not_null} | {source} | {doc} |")
    return "\n".join(lines) + "\n"


def write_docs(outdir: str | Path) -> list[Path]:
    """Write ``<outdir>/<table>.md`` for every table."""
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name in TABLES:
        path = out / f"{name}.md"
        path.write_text(table_markdown(name), encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":  # pragma: no cover
    for p in write_docs(sys.argv[1] if len(sys.argv) > 1 else "docs/tables"):
        print(p)
