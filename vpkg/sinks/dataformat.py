"""`dataformat tsv virus-genome`, compatible: the same mnemonics, headers, default fields and
value rendering, read from the ``genomes`` table, with quoting where a value needs it.

The field table copies ``ncbi/dataformat.md`` (§2, the 50 v2 fields, in default order;
§6, four v13 names kept for old scripts). Values are rendered by its §4 rules:

* an absent value, an empty string, a ``false`` boolean, a ``0`` count and an enum's zero
  value (``UNKNOWN``...) print as an empty cell, never ``false``/``0``;
* booleans print ``true``; integers in decimal; strings and enum names as they are;
* lists of strings are joined with ``,`` (no space);
* dates print as in the JSON: ``1999-09-05T00:00:00Z`` in V2 packages, ``2020-09-04`` in V1
  packages (a time other than midnight is kept in ``extra`` and printed verbatim).

Each value comes from its ``genomes`` column when there is one, otherwise from the ``extra``
JSON at the field's path (``host.commonName``, ``molType``...), so a field NCBI adds never
breaks anything. V1 packages name the organism ``sciName``: their ``Host Name`` and ``Virus
Name`` print it, as the ``genomes`` columns do.

Unlike dataformat, a value holding a tab, a line break or a double quote is written in
double quotes with inner quotes doubled (as RFC 4180 and ``csvtk fix-quotes`` do), so no row
ever shifts. Any ``genomes`` column (vpkg's own names, including columns added later) and
vpkg's derived ``accession_unversioned`` may be asked for by name too: its header is its
name; lists of strings are joined with ``,``, other nested values are JSON text, booleans
``true``/``false``, dates ISO.

>>> [f.header for f in resolve_fields(["accession", "isolate-collection-date"], [])]
['Accession', 'Isolate Collection date']
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING

from vpkg.errors import ParameterError
from vpkg.schema import GENOME_COLUMNS
from vpkg.sinks.duckdb_common import duckdb_message, quote
from vpkg.sinks.lines import needs_quotes, write_lines
from vpkg.sinks.multi import ORDER_COLUMNS, ordered_name
from vpkg.sinks.selection import DERIVED

if TYPE_CHECKING:  # pragma: no cover
    from vpkg.sinks.multi import Views


@dataclass(frozen=True)
class Field:
    """One TSV column: mnemonic(s), exact header, JSON path, and how its value prints.

    ``kind`` is ``str``, ``int``, ``bool``, ``list``, ``date`` or ``enum:<zero value>``;
    ``column`` names a ``genomes`` column printed by vpkg's rules instead (no JSON path).
    """

    names: tuple[str, ...]
    header: str
    path: tuple[str, ...] = ()
    kind: str = "str"
    column: str | None = None

    @property
    def mnemonic(self) -> str:
        return self.names[0]


def _f(names: str, header: str, path: str, kind: str = "str") -> Field:
    return Field(tuple(names.split("|")), header, tuple(path.split(".")), kind)


def _infraspecific(organism: str, title: str) -> list[Field]:
    return [_f(f"{organism}-infraspecific-{part}", f"{title} Infraspecific Names "
               f"{part.capitalize()}", f"{organism}.infraspecificNames.{part}")
            for part in ("breed", "cultivar", "ecotype", "isolate", "sex", "strain")]


#: The v2 fields of ``dataformat tsv virus-genome``, in default order (ncbi/dataformat.md §2).
FIELDS: list[Field] = [
    _f("accession", "Accession", "accession"),
    _f("bioprojects", "BioProjects", "bioprojects", "list"),
    _f("biosample-acc", "BioSample accession", "biosample"),
    _f("completeness", "Completeness", "completeness", "enum:UNKNOWN"),
    _f("gene-count", "Gene count", "geneCount", "int"),
    _f("geo-location", "Geographic Location", "location.geographicLocation"),
    _f("geo-region", "Geographic Region", "location.geographicRegion"),
    # the reference marks this mnemonic unconfirmed and names both spellings: accept each
    _f("geo-state|geo-usa-state", "Geographic State", "location.usaState"),
    _f("host-common-name", "Host Common Name", "host.commonName"),
    *_infraspecific("host", "Host"),
    _f("host-name", "Host Name", "host.organismName"),
    _f("host-pangolin", "Host Pangolin Classification", "host.pangolinClassification"),
    _f("host-tax-id", "Host Taxonomic ID", "host.taxId", "int"),
    _f("is-annotated", "Is Annotated", "isAnnotated", "bool"),
    _f("is-complete", "Is Complete", "isComplete", "bool"),
    _f("is-lab-host", "Is Lab Host", "isLabHost", "bool"),
    _f("is-vaccine-strain", "Is Vaccine Strain", "isVaccineStrain", "bool"),
    _f("isolate-collection-date", "Isolate Collection date", "isolate.collectionDate"),
    _f("isolate-lineage", "Isolate Lineage", "isolate.name"),
    _f("isolate-lineage-source", "Isolate Lineage source", "isolate.source"),
    _f("lab-host", "Lab Host", "labHost"),
    _f("length", "Length", "length", "int"),
    _f("matpeptide-count", "Mature peptide count", "maturePeptideCount", "int"),
    _f("mol-type", "Molecule type", "molType"),
    _f("nucleotide-completeness", "Nucleotide completeness", "nucleotideCompleteness"),
    _f("protein-count", "Protein count", "proteinCount", "int"),
    _f("purpose-of-sampling", "Purpose of Sampling", "purposeOfSampling",
       "enum:PURPOSE_OF_SAMPLING_UNKNOWN"),
    _f("release-date", "Release date", "releaseDate", "date"),
    _f("segment", "Segment", "segment"),
    _f("sourcedb", "Source database", "sourceDatabase", "enum:SOURCE_DATABASE_UNSPECIFIED"),
    _f("sra-accs", "SRA Accessions", "sraAccessions", "list"),
    _f("submitter-affiliation", "Submitter Affiliation", "submitter.affiliation"),
    _f("submitter-country", "Submitter Country", "submitter.country"),
    _f("submitter-names", "Submitter Names", "submitter.names", "list"),
    _f("update-date", "Update date", "updateDate", "date"),
    _f("virus-common-name", "Virus Common Name", "virus.commonName"),
    *_infraspecific("virus", "Virus"),
    _f("virus-name", "Virus Name", "virus.organismName"),
    _f("virus-pangolin", "Virus Pangolin Classification", "virus.pangolinClassification"),
    _f("virus-tax-id", "Virus Taxonomic ID", "virus.taxId", "int"),
]
#: v13 (V1-era) names not in the v2 list, accepted for old scripts (dataformat.md §6).
V13_FIELDS: list[Field] = [
    _f("host-organism-name", "Host Organism Name", "host.organismName"),
    _f("host-strain", "Host Strain", "host.strain"),
    _f("virus-organism-name", "Virus Organism Name", "virus.organismName"),
    _f("virus-strain", "Virus Strain", "virus.strain"),
]
BY_NAME: dict[str, Field] = {n: f for f in FIELDS + V13_FIELDS for n in f.names}
#: genomes column read for a JSON path (its primary path; V1 fallbacks come with it)
_COLUMN_OF_PATH = {c.path: c.name for c in GENOME_COLUMNS if c.path}


def parse_fields(values: Iterable[str] | None) -> list[str] | None:
    """``--fields`` values (each comma-separated; repeated flags add up) as one list.

    >>> parse_fields(["accession, length", "segment"])
    ['accession', 'length', 'segment']
    """
    if not values:
        return None
    names = [n.strip() for value in values for n in value.split(",")]
    return [n for n in names if n]


def resolve_fields(names: Sequence[str] | None, columns: Sequence[str]) -> list[Field]:
    """The fields asked for: mnemonics first, then ``genomes`` column names; all by default.

    Raises
    ------
    ParameterError
        For unknown names, in one line listing every valid mnemonic.
    """
    if names is None:
        return list(FIELDS)
    out, unknown = [], []
    for name in names:
        if name in BY_NAME:
            out.append(BY_NAME[name])
        elif name in columns or name in DERIVED:
            out.append(Field((name,), name, column=name))
        else:
            unknown.append(name)
    if unknown:
        valid = ", ".join("|".join(f.names) for f in FIELDS + V13_FIELDS)
        raise ParameterError(
            f"--fields: {', '.join(map(repr, unknown))} not recognized; the fields are "
            f"{valid}, or any genomes column by name ({', '.join([*columns, *DERIVED])})",
            parameter="fields")
    return out


def write_tsv(
    views: Views,
    out: IO[bytes],
    fields: Sequence[str] | None = None,
    *,
    header: bool = True,
    where: str | None = None,
    names_header: bool = False,
    batch_rows: int = 8192,
) -> int:
    """Write the ``genomes`` rows of ``views`` as dataformat TSV to ``out``; return the rows.

    Parameters
    ----------
    views
        Views over one or several packages (`vpkg.package.views_of`).
    out
        A binary stream (UTF-8 is written).
    fields
        Mnemonics or ``genomes`` column names, in output order (default: all 50 fields).
    header
        Write the header line first (``--elide-header`` is False).
    where
        A DuckDB predicate on ``genomes`` columns.
    names_header
        Name the columns by the ``fields`` as given (mnemonics) instead of dataformat's
        headers, as ``--elide-header | csvtk add-header -n FIELDS`` does.

    Examples
    --------
    >>> import io, vpkg
    >>> from vpkg.package import views_of
    >>> views = views_of([vpkg.open_package("fixtures/real/Hantavirus_Z10.zip")])
    >>> buf = io.BytesIO()
    >>> write_tsv(views, buf, ["accession", "length", "is-vaccine-strain"], where="length < 1300")
    1
    >>> buf.getvalue().decode()
    'Accession\\tLength\\tIs Vaccine Strain\\nAF159370.1\\t1287\\t\\n'
    """
    views.require("genomes")
    types = dict(views.columns("genomes"))
    chosen = resolve_fields(fields, list(types))
    v1 = [i for i, version in enumerate(views.api_versions) if version == "V1"]
    cells = [f"coalesce({needs_quotes(_value(f, types, v1), chr(9))}, '')" for f in chosen]
    sql = (f"SELECT concat_ws(chr(9), {', '.join(cells)}) AS line "
           f"FROM {quote(ordered_name('genomes'))} AS t")
    if where:
        sql += f" WHERE ({where})"
    sql += f" ORDER BY {', '.join(ORDER_COLUMNS)}"
    _check(views, sql)
    names = fields if names_header and fields else [f.header for f in chosen]
    with views.reading("reading genomes failed"):
        return write_lines(views.reader(sql, batch_rows, "reading genomes failed"), out,
                           "\t".join(names) if header else None)


def _check(views: Views, sql: str) -> None:
    import duckdb

    try:
        views.con.execute(f"DESCRIBE {sql}").fetchall()
    except duckdb.Error as exc:
        raise ParameterError(f"--where: {duckdb_message(exc)}", parameter="where") from None


def _value(field: Field, types: dict[str, str], v1: list[int]) -> str:
    """SQL giving the field's text, NULL when the cell is empty."""
    if field.column in DERIVED:
        return DERIVED[field.column][1]
    if field.column is not None:
        return _column_text(quote(field.column), types[field.column])
    column = _COLUMN_OF_PATH.get(field.path)
    column = column if column in types else None
    has_extra = "extra" in types
    pointer = "$." + ".".join(field.path)
    verbatim = f"json_extract_string(t.extra, '{pointer}')" if has_extra else "NULL"
    col = f"t.{quote(column)}" if column else None
    kind = field.kind
    if kind == "bool":
        test = col if col else f"{verbatim} = 'true'"
        text = f"CASE WHEN {test} THEN 'true' END"
    elif kind == "list":
        if col:
            text = f"array_to_string({col}, ',')"
        else:
            items = f"json_extract_string(t.extra, '{pointer}[*]')" if has_extra else "NULL"
            text = f"array_to_string({items}, ',')"
    elif kind == "int":
        text = f"coalesce({verbatim}, CAST({col} AS VARCHAR))" if col else verbatim
        text = f"nullif({text}, '0')"
    elif kind == "date" and col:
        suffix = "'T00:00:00Z'"
        if v1:
            suffix = f"CASE WHEN t.{ORDER_COLUMNS[0]} IN ({', '.join(map(str, v1))}) " \
                     f"THEN '' ELSE {suffix} END"
        text = f"coalesce({verbatim}, strftime({col}, '%Y-%m-%d') || {suffix})"
    else:
        text = f"coalesce({verbatim}, {col})" if col else verbatim
    if kind.startswith("enum:"):
        text = f"nullif({text}, '{kind[5:]}')"
    return f"nullif({text}, '')"


def _column_text(col: str, duck_type: str) -> str:
    """SQL: a ``genomes`` column as text (lists of strings joined, other nested as JSON)."""
    if duck_type == "VARCHAR[]":
        return f"array_to_string(t.{col}, ',')"
    if duck_type.endswith("]") or duck_type.startswith(("STRUCT", "MAP")):
        return f"CAST(to_json(t.{col}) AS VARCHAR)"
    return f"CAST(t.{col} AS VARCHAR)"
