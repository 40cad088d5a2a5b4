"""The rows and columns of one table to export: ``--columns``, ``--where`` and derived columns.

`select_sql` builds one DuckDB SELECT over the views of `vpkg.sinks.multi`:

* the table's own columns (every column of its view, read at run time, so new columns
  work without a change here), plus the derived columns of `DERIVED`;
* ``where``, any DuckDB predicate. For the tables that hold a genome accession
  (`vpkg.tables.GENOME_KEYED`), a predicate that does not bind on the table alone, and
  ``columns``, may
  also use every ``genomes`` column the table lacks: the table is then joined with
  ``genomes`` on ``accession`` (and on the package, for several packages), its own columns
  winning. ``protein_sequences`` reach their genome through ``annotations`` (the record
  whose CDS or mature peptide names the protein accession), when a package has them;
* ``with_sequence``: for ``genomes``, the genome sequence under that name (a join with
  ``genome_sequences`` on accession).

Joined queries are ordered back into file order, so the rows always come package after
package, each in the order of its member.

>>> import vpkg
>>> from vpkg.package import views_of
>>> views = views_of([vpkg.open_package("fixtures/real/Hantavirus_Z10.zip")])
>>> sql = select_sql(views, "genome_sequences", columns=["accession_unversioned", "length"],
...                  where="completeness = 'COMPLETE'")
>>> views.execute(sql).fetchall()[:1]
[('EF533944', 1701)]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from vpkg.errors import ParameterError
from vpkg.sinks.duckdb_common import duckdb_message, quote
from vpkg.sinks.multi import ORDER_COLUMNS, ordered_name
from vpkg.tables import GENOME_KEYED

if TYPE_CHECKING:  # pragma: no cover
    from vpkg.sinks.multi import Views

#: Columns vpkg derives, by name: (the column they need, the SQL computing them).
DERIVED: dict[str, tuple[str, str]] = {
    # the accession without its ``.version`` suffix: NC_045512.2 -> NC_045512
    "accession_unversioned": ("accession", r"regexp_replace(t.accession, '\.[0-9]+$', '')"),
}
#: Tables whose ``accession`` is a genome accession: ``where`` may use genomes columns.


def select_sql(
    views: Views,
    table: str,
    *,
    columns: Sequence[str] | None = None,
    where: str | None = None,
    with_sequence: str | None = None,
) -> str:
    """The SELECT giving the rows of ``table`` to export (see the module docstring).

    Raises
    ------
    ParameterError
        An unknown column (the message lists the valid ones), a ``where`` DuckDB rejects
        (DuckDB's message kept), or ``with_sequence`` on a table other than genomes or
        without genome sequences.
    """
    views.require(table)
    own = [name for name, _ in views.columns(table)]
    derived = {n: sql for n, (need, sql) in DERIVED.items() if need in own and n not in own}
    joins, extra = [], {}  # join clauses; added column name -> SQL
    if with_sequence:
        joins.append(_sequence_join(views, table, own, with_sequence))
        extra[with_sequence] = "s.sequence"
    if where and not _binds(views, _base(table, own, derived, extra, joins), where):
        genome_join, genome_columns = _genome_join(views, table, own)
        joined = _base(table, own, derived, {**extra, **genome_columns},
                       [*joins, genome_join]) if genome_join else None
        if joined is None or not _binds(views, joined, where):
            _explain(views, joined or _base(table, own, derived, extra, joins), where, table)
        joins.append(genome_join)
        extra.update(genome_columns)
    known = set(own) | set(derived) | set(extra)
    if columns and any(c not in known for c in columns) and not any(
            j.startswith("LEFT JOIN " + quote(ordered_name("genomes"))) for j in joins):
        genome_join, genome_columns = _genome_join(views, table, own)
        if genome_join:  # columns of the genome, e.g. virus_name for a FASTA description
            joins.append(genome_join)
            extra.update(genome_columns)
    chosen = list(columns) if columns else own + list(extra if with_sequence else ())
    valid = own + list(derived) + list(extra)
    unknown = [c for c in chosen if c not in valid]
    if unknown:
        raise ParameterError(
            f"--columns: {', '.join(map(repr, unknown))} is not a column of {table}; its "
            f"columns are {', '.join(valid)}", parameter="columns")
    base = _base(table, own, derived, extra, joins)
    sql = f"SELECT {', '.join(quote(c) for c in chosen)} FROM ({base}) AS rows"
    if where:
        sql += f" WHERE ({where})"
    if joins:
        sql += f" ORDER BY {', '.join(ORDER_COLUMNS)}"
    if where:
        _explain(views, sql, None, table)
    return sql


def _base(table: str, own: list[str], derived: dict[str, str], extra: dict[str, str],
          joins: list[str]) -> str:
    """Every column the predicate and the output may use, with the order columns."""
    parts = [f"t.{c}" for c in ORDER_COLUMNS] + [f"t.{quote(c)}" for c in own]
    parts += [f"{sql} AS {quote(name)}" for name, sql in {**derived, **extra}.items()]
    return (f"SELECT {', '.join(parts)} FROM {quote(ordered_name(table))} AS t"
            + "".join(f" {j}" for j in joins))


def _on(alias: str) -> str:
    """Rows of the same accession and package (by index: two packages may carry one name)."""
    package = ORDER_COLUMNS[0]
    return f"ON {alias}.accession = t.accession AND {alias}.{package} = t.{package}"


def _genome_join(views: Views, table: str, own: list[str]) -> tuple[str | None, dict[str, str]]:
    if "genomes" not in views.tables:
        return None, {}
    added = {c: f"g.{quote(c)}" for c, _ in views.columns("genomes") if c not in own}
    genomes, package = quote(ordered_name("genomes")), ORDER_COLUMNS[0]
    if table in GENOME_KEYED:
        return f"LEFT JOIN {genomes} AS g {_on('g')}", added
    if table == "protein_sequences" and "annotations" in views.tables:
        # a protein's genome is the record whose annotation names it (as a CDS or as the
        # protein a mature peptide is cut from)
        notes = quote(ordered_name("annotations"))
        link = (f"SELECT DISTINCT {package}, protein_accession AS accession, accession AS "
                f"genome FROM {notes} WHERE protein_accession IS NOT NULL UNION "
                f"SELECT DISTINCT {package}, peptide.protein_accession, accession FROM {notes}, "
                f"unnest(mature_peptides) AS m(peptide) "
                f"WHERE peptide.protein_accession IS NOT NULL")
        return (f"LEFT JOIN ({link}) AS p {_on('p')} LEFT JOIN {genomes} AS g "
                f"ON g.accession = p.genome AND g.{package} = t.{package}"), added
    return None, {}


def _sequence_join(views: Views, table: str, own: list[str], name: str) -> str:
    if table != "genomes":
        raise ParameterError(
            f"--with-sequence adds the genome sequence to genomes records; {table} is not "
            "genomes (export --tables genomes)", parameter="with_sequence")
    if "genome_sequences" not in views.tables:
        raise ParameterError(
            "--with-sequence: no package given has genomic.fna; download the package with "
            "--include genome", parameter="with_sequence")
    if name in own:
        raise ParameterError(
            f"--with-sequence {name!r}: genomes already has a column of that name; choose "
            "another key, e.g. sequence", parameter="with_sequence")
    return f"LEFT JOIN {quote(ordered_name('genome_sequences'))} AS s {_on('s')}"


def _binds(views: Views, base: str, where: str) -> bool:
    import duckdb

    try:
        views.con.execute(f"DESCRIBE SELECT * FROM ({base}) AS rows WHERE ({where})").fetchall()
    except duckdb.BinderException:
        return False
    except duckdb.Error:
        return True  # a syntax or other error: reported when the query runs, unchanged
    return True


def _explain(views: Views, base: str, where: str | None, table: str) -> None:
    """Raise DuckDB's own message when ``base`` filtered by ``where`` does not bind."""
    import duckdb

    query = f"SELECT * FROM ({base}) AS rows" + (f" WHERE ({where})" if where else "")
    try:
        views.con.execute(f"DESCRIBE {query}").fetchall()
    except duckdb.Error as exc:
        hint = ""
        if where and table not in (*GENOME_KEYED, "genomes"):
            how = (" without annotation_report.jsonl" if table == "protein_sequences"
                   else "")
            hint = (f" ({table} cannot use genomes columns{how}; name the tables that can "
                    f"with --tables, e.g. genomes,{','.join(GENOME_KEYED)})")
        raise ParameterError(f"--where on {table}: {duckdb_message(exc)}{hint}",
                             parameter="where") from None
