"""A persistent DuckDB warehouse of packages: `load` upserts them, one transaction each.

The warehouse holds the six tables with the contract's columns (created on first load) and a
``packages`` table, one row per load. ``genomes`` is a view: its rows are stored in
``genomes_base``, where each lineage list is an id into ``genome_lineages`` (one row per
distinct list), because DuckDB would store every genome's copy of the list. The tables have
no primary-key indexes (each would cost about 50 bytes per key): the load keeps one row per
key itself.

Rules, for each package:

* **Versions.** A genome record's version is its ``update_date``. A record of the package
  *wins* when the warehouse lacks the accession, or holds it with an older or equal
  ``update_date`` (a missing date is the oldest). A winning record replaces the stored
  genome, and in every table the package holds, the stored rows of that accession: its
  genome sequence, CDS, annotations and proteins. A losing record (the warehouse holds a
  newer one) is ignored, together with its sequences and annotations.
* **Tables the package lacks are left alone**: a newer data report without ``cds.fna``
  keeps the stored CDS of that accession (an ``accession.version`` pins its sequence).
* **Proteins** belong to a genome through the annotation report (``protein_accession`` and
  mature peptides' ``protein_accession``). Proteins the package's annotations do not place,
  and sequence or annotation rows whose accession has no record in the package's data
  report, prove no version: they are inserted when their key is new, and never replace a
  stored row.
* **BioSamples** are versioned by ``last_updated`` with the same rule, independently.
* **Duplicates** inside one package: the newest ``update_date`` (``last_updated``) wins,
  then the last in file order; other keyed tables keep the last occurrence of a key, and
  ``annotations`` the last record of an accession.
* **Idempotence.** A package whose md5 is already in ``packages`` is skipped (unless
  ``force=True``); loading it again anyway replaces rows by identical ones.
* **Atomicity.** Each package loads in one transaction: an error, Ctrl-C or a killed
  process leaves the warehouse as it was before that package.

>>> import tempfile, os, vpkg
>>> db = os.path.join(tempfile.mkdtemp(), "wh.duckdb")
>>> [r.genomes_new for r in vpkg.load("fixtures/real/Hantavirus_Z10.zip", db)]
[9]
>>> [r.skipped for r in vpkg.load("fixtures/real/Hantavirus_Z10.zip", db)]
[True]
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from vpkg.errors import ParameterError, VpkgError
from vpkg.schema import schema
from vpkg.sinks.duckdb_common import duckdb_message, quote, reraise
from vpkg.sources import ORDINAL
from vpkg.tables import TABLES

if TYPE_CHECKING:  # pragma: no cover
    import duckdb

    from vpkg.sources import Source

PACKAGES_COLUMNS = [
    ("file", "VARCHAR NOT NULL"),
    ("md5", "VARCHAR NOT NULL"),
    ("api_version", "VARCHAR"),
    ("vpkg_version", "VARCHAR"),
    ("loaded_at", "TIMESTAMP NOT NULL"),
    *[(f"{t}_rows", "BIGINT") for t in TABLES],
    ("genomes_new", "BIGINT"),
    ("genomes_updated", "BIGINT"),
    ("genomes_same", "BIGINT"),
    ("genomes_older", "BIGINT"),
    ("rows_inserted", "BIGINT"),
    ("rows_deleted", "BIGINT"),
]

_T = "_vpkg_"  # prefix of the temp tables a load uses


@dataclass
class LoadResult:
    """What loading one package did.

    ``rows_read`` counts the rows of each table the package holds; ``genomes_*`` count the
    package's distinct genome accessions by outcome: new to the warehouse, ``updated``
    (replacing an older record), ``same`` (equal ``update_date``, rows refreshed) and
    ``older`` (ignored: the warehouse holds a newer record).
    """

    file: str
    md5: str
    skipped: bool = False
    rows_read: dict[str, int] = field(default_factory=dict)
    rows_inserted: dict[str, int] = field(default_factory=dict)
    rows_deleted: dict[str, int] = field(default_factory=dict)
    genomes_new: int = 0
    genomes_updated: int = 0
    genomes_same: int = 0
    genomes_older: int = 0

    def __str__(self) -> str:
        if self.skipped:
            return f"{self.file}: already loaded (md5 {self.md5}), nothing to do"
        return (
            f"{self.file}: genomes {self.genomes_new} new, {self.genomes_updated} newer "
            f"(replaced), {self.genomes_same} same update_date (refreshed), "
            f"{self.genomes_older} older (ignored); {sum(self.rows_inserted.values())} rows "
            f"written, {sum(self.rows_deleted.values())} removed"
        )


def load_sources(
    con: duckdb.DuckDBPyConnection,
    sources: Mapping[str, Source],
    *,
    file: str,
    md5: str,
    api_version: str | None = None,
    before_commit: Callable[[duckdb.DuckDBPyConnection], None] | None = None,
) -> LoadResult:
    """Load one package's tables into the warehouse open on ``con``, in one transaction.

    Parameters
    ----------
    con
        A connection to the warehouse database (tables are created on first load).
    sources
        table -> its source, for every table the package holds (tables it lacks are left
        alone). Each is read once.
    file, md5, api_version
        The package, as recorded in the ``packages`` table.
    before_commit
        ``before_commit(con)`` runs last inside the transaction (`vpkg.sync` records there
        which accessions the package brought in).

    Raises
    ------
    VpkgError
        When a source cannot be read, or the database holds tables with other columns. The
        warehouse is then as it was before.
    """
    result = LoadResult(file=file, md5=md5)
    job = _Load(con, sources, result, file)
    con.begin()
    try:
        job.run()
        _record_package(con, api_version, result)
        if before_commit is not None:
            before_commit(con)
        con.commit()
    except BaseException:
        con.rollback()
        raise
    finally:
        job.unregister()
    return result


class _Load:
    """The statements of one package load, run inside the caller's transaction."""

    def __init__(self, con, sources: Mapping[str, Source], result: LoadResult, file: str):
        self.con = con
        self.sources = sources
        self.held = set(sources)
        self.result = result
        self.file = file
        self.streams: list[Source] = []
        self.db = _db(con)

    # ---- helpers ---------------------------------------------------------------------------
    def sql(self, statement: str) -> Any:
        try:
            return self.con.execute(statement)
        except Exception as exc:
            reraise(exc, self.streams, f"loading {self.file} failed", query=False)

    def count(self, statement: str) -> int:
        return int(self.sql(statement).fetchall()[0][0])

    def wh(self, table: str) -> str:
        """A warehouse table, qualified so that temp tables never shadow it."""
        return f"{self.db}.main.{table}"

    # ---- the load ----------------------------------------------------------------------
    def run(self) -> None:
        create_tables(self.con)
        for table in TABLES:
            if table in self.held:
                self.stage(table)
        self.decide_genomes()
        # stored proteins of winning genomes, found through the stored annotations, before
        # those annotations are replaced
        self.protein_owners(f"{_T}old_owner", self.wh("annotations"), winners_only=True)
        if "annotations" in self.held:
            self.protein_owners(f"{_T}owner", f"{_T}in_annotations")
        self.replace("genomes", owner="accession")
        self.replace("genome_sequences", owner="accession")
        self.replace("cds_sequences", owner="accession")
        self.replace_proteins()
        self.replace_annotations()
        self.replace_biosamples()
        for kind, name in self._temp_objects():
            self.sql(f"DROP {kind} temp.main.{quote(name)}")

    def stage(self, table: str) -> None:
        """Read ``table`` from the package into the temp table ``_vpkg_in_<table>``, with
        its file order in ``_ord`` and duplicates resolved (one copy, no staging table)."""
        stream = self.sources[table].with_options(ordinal=True)
        self.streams.append(stream)
        source = f"{_T}stream_{table}"
        self.con.register(source, stream)
        key = TABLES[table].key
        if table == "annotations":
            select = _LAST_RECORD.format(source=source)
        elif TABLES[table].version:
            select = (f"SELECT * FROM {source} QUALIFY row_number() OVER (PARTITION BY "
                      f"{key[0]} ORDER BY {TABLES[table].version} DESC NULLS LAST, "
                      f"{ORDINAL} DESC) = 1")
        else:  # sequences, the bulk: copy once; drop earlier copies of a key, if any
            select = f"SELECT * FROM {source}"
        self.sql(f"CREATE TEMP TABLE {_T}in_{table} AS {select}")
        self.result.rows_read[table] = stream.rows
        if table.endswith("_sequences") and self.count(
            f"SELECT count(*) - count(DISTINCT {key[0]}) FROM {_T}in_{table}"
        ):
            self.sql(f"DELETE FROM {_T}in_{table} WHERE {ORDINAL} NOT IN "
                     f"(SELECT max({ORDINAL}) FROM {_T}in_{table} GROUP BY {key[0]})")

    def decide_genomes(self) -> None:
        """``_vpkg_decision``: each genome accession of the package and its outcome."""
        if "genomes" not in self.held:
            self.sql(f"CREATE TEMP TABLE {_T}in_genomes AS SELECT 0::BIGINT AS {ORDINAL}, * "
                     f"FROM {self.wh('genomes')} LIMIT 0")
        self.sql(
            f"""CREATE TEMP TABLE {_T}decision AS
            SELECT p.accession,
                CASE WHEN s.accession IS NULL THEN 'new'
                     WHEN p.update_date IS NOT DISTINCT FROM s.update_date THEN 'same'
                     WHEN s.update_date IS NULL OR p.update_date > s.update_date THEN 'updated'
                     ELSE 'older' END AS outcome
            FROM {_T}in_genomes p LEFT JOIN {self.wh(GENOMES_BASE)} s USING (accession)"""
        )
        self.sql(f"CREATE TEMP TABLE {_T}win AS SELECT accession FROM {_T}decision "
                 "WHERE outcome <> 'older'")
        for outcome, n in self.sql(
            f"SELECT outcome, count(*) FROM {_T}decision GROUP BY outcome"
        ).fetchall():
            setattr(self.result, f"genomes_{outcome}", int(n))

    def protein_owners(self, name: str, annotations: str, winners_only: bool = False) -> None:
        """``name``: (protein accession, genome accession) from an annotations table."""
        where = f"WHERE accession IN (SELECT accession FROM {_T}win)" if winners_only else ""
        self.sql(
            f"""CREATE TEMP TABLE {name} AS
            SELECT protein, min(accession) AS accession FROM (
                SELECT protein_accession AS protein, accession FROM {annotations} {where}
                UNION ALL
                SELECT unnest(mature_peptides).protein_accession, accession
                FROM {annotations} {where}
            ) WHERE protein IS NOT NULL GROUP BY protein"""
        )

    def replace(self, table: str, owner: str) -> None:
        """Replace the stored rows of winning genomes by the package's; add new orphan keys.

        ``owner`` is the SQL expression giving a package row's genome accession (NULL: unknown).
        """
        if table not in self.held:
            return
        key = TABLES[table].key[0]
        target = self.wh(stored_name(table))
        # sequence tables were copied in file order, which DuckDB keeps; sorting them again
        # would hold a second copy
        order = "" if table.endswith("_sequences") else f"ORDER BY {ORDINAL}"
        deleted = self.count(
            f"DELETE FROM {target} WHERE accession IN (SELECT accession FROM {_T}win)"
            if table != "protein_sequences"
            else f"DELETE FROM {target} WHERE accession IN (SELECT protein FROM {_T}old_owner)"
        )
        self.sql(f"CREATE TEMP VIEW {_T}rows_{table} AS "
                 f"SELECT *, {owner} AS _owner FROM {_T}in_{table} i")
        deleted += self.count(
            f"DELETE FROM {target} WHERE {key} IN (SELECT {key} FROM {_T}rows_{table} "
            f"WHERE _owner IN (SELECT accession FROM {_T}win))"
        )
        where = f"""WHERE i._owner IN (SELECT accession FROM {_T}win)
               OR (NOT EXISTS (SELECT 1 FROM {_T}decision d WHERE d.accession = i._owner)
                   AND NOT EXISTS (SELECT 1 FROM {target} t WHERE t.{key} = i.{key}))"""
        inserted = insert_rows(self.sql, self.db, table, f"{_T}rows_{table}", where, order,
                               exclude=(ORDINAL, "_owner"))
        self._counted(table, inserted, deleted)

    def replace_proteins(self) -> None:
        if "annotations" in self.held:
            owner = f"(SELECT o.accession FROM {_T}owner o WHERE o.protein = i.accession)"
        else:  # nothing places the proteins: they only fill in new ids
            owner = "NULL::VARCHAR"
            self.sql(f"DELETE FROM {_T}old_owner")
        self.replace("protein_sequences", owner=owner)

    def replace_annotations(self) -> None:
        if "annotations" not in self.held:
            return
        target = self.wh("annotations")
        deleted = self.count(
            f"DELETE FROM {target} WHERE accession IN (SELECT accession FROM {_T}win)"
        )
        inserted = self.count(
            f"""INSERT INTO {target} BY NAME
            SELECT * EXCLUDE ({ORDINAL}, _record) FROM {_T}in_annotations i
            WHERE i.accession IN (SELECT accession FROM {_T}win)
               OR (NOT EXISTS (SELECT 1 FROM {_T}decision d WHERE d.accession = i.accession)
                   AND NOT EXISTS (SELECT 1 FROM {target} t WHERE t.accession = i.accession))
            ORDER BY {ORDINAL}"""
        )
        self._counted("annotations", inserted, deleted)

    def replace_biosamples(self) -> None:
        if "biosamples" not in self.held:
            return
        target = self.wh("biosamples")
        self.sql(
            f"""CREATE TEMP TABLE {_T}bwin AS
            SELECT p.accession FROM {_T}in_biosamples p LEFT JOIN {target} s USING (accession)
            WHERE s.accession IS NULL OR s.last_updated IS NULL
               OR p.last_updated >= s.last_updated"""
        )
        deleted = self.count(
            f"DELETE FROM {target} WHERE accession IN (SELECT accession FROM {_T}bwin)"
        )
        inserted = self.count(
            f"""INSERT INTO {target} BY NAME SELECT * EXCLUDE ({ORDINAL})
            FROM {_T}in_biosamples WHERE accession IN (SELECT accession FROM {_T}bwin)
            ORDER BY {ORDINAL}"""
        )
        self._counted("biosamples", inserted, deleted)

    def unregister(self) -> None:
        """Drop the registered streams (after the commit or rollback)."""
        for stream in self.streams:
            with contextlib.suppress(Exception):
                self.con.unregister(f"{_T}stream_{stream.table}")

    def _counted(self, table: str, inserted: int, deleted: int) -> None:
        self.result.rows_inserted[table] = inserted
        self.result.rows_deleted[table] = deleted

    def _temp_objects(self) -> list[tuple[str, str]]:
        """(VIEW or TABLE, name) of the temp objects of this load, views first."""
        rows = self.sql(
            f"SELECT 'VIEW', view_name FROM duckdb_views() WHERE temporary "
            f"AND starts_with(view_name, '{_T}') AND NOT starts_with(view_name, '{_T}stream_') "
            f"UNION ALL SELECT 'TABLE', table_name FROM duckdb_tables() WHERE temporary "
            f"AND starts_with(table_name, '{_T}')"
        ).fetchall()
        return sorted(rows, key=lambda r: r[0] != "VIEW")


#: The rows of the last record of each accession, read from the annotations stream. A record's rows
#: are consecutive; a new record starts where the accession changes or (gene, CDS) restarts.
_LAST_RECORD = f"""
WITH marked AS (
    SELECT *, CASE
        WHEN accession IS DISTINCT FROM lag(accession) OVER o THEN 1
        WHEN gene_index < lag(gene_index) OVER o THEN 1
        WHEN gene_index = lag(gene_index) OVER o
             AND coalesce(cds_index, -1) <= coalesce(lag(cds_index) OVER o, -1) THEN 1
        ELSE 0 END AS _start
    FROM {{source}} WINDOW o AS (ORDER BY {ORDINAL})
), numbered AS (
    SELECT * EXCLUDE (_start), sum(_start) OVER (ORDER BY {ORDINAL}) AS _record FROM marked
)
SELECT * FROM numbered QUALIFY _record = max(_record) OVER (PARTITION BY accession)
"""


# ---- the warehouse tables --------------------------------------------------------------------


#: Version 1: the six tables and ``packages`` (``vpkg load`` before sync existed).
#: Version 2: adds the ``withdrawn_*`` and ``sync_*`` tables and ``vpkg_warehouse``.
#: Version 3: ``genomes`` is a view over ``genomes_base`` and ``genome_lineages``; the six
#: tables have no primary keys. `create_tables` converts an older ``genomes`` table.
SCHEMA_VERSION = 3

#: The table of the layout version (``key`` ``schema_version``).
VERSION_TABLE = "key VARCHAR PRIMARY KEY, value VARCHAR"

GENOMES_BASE = "genomes_base"
LINEAGES = "genome_lineages"
#: The ``genomes`` columns stored as an id (``<column>_id``) into ``genome_lineages``.
LINEAGE_COLUMNS = ("host_lineage", "virus_lineage")


def stored_name(table: str) -> str:
    """The table that stores the rows of warehouse table ``table`` (``genomes`` is a view)."""
    return GENOMES_BASE if table == "genomes" else table


def insert_rows(run: Callable[[str], Any], db: str, table: str, relation: str,
                where: str = "", order: str = "", exclude: tuple[str, ...] = ()) -> int:
    """Insert the rows of ``relation`` (alias ``i``) picked by ``where`` into ``table``.

    Columns go by name, without those of ``exclude``; ``relation`` names a table or view. For
    ``genomes``, lineage lists missing from ``genome_lineages`` are added to it and the rows
    get their ids. ``run(sql)`` runs a statement. Returns the number of rows inserted.
    """
    columns = f"* EXCLUDE ({', '.join(exclude)})" if exclude else "*"
    source = f"{relation} i"
    if table == "genomes":
        lineages = f"{db}.main.{LINEAGES}"
        listed = ", ".join(f"i.{c}" for c in LINEAGE_COLUMNS)
        run(f"""INSERT INTO {lineages}
            SELECT (SELECT coalesce(max(lineage_id), 0) FROM {lineages})
                   + row_number() OVER (ORDER BY lineage), lineage
            FROM (SELECT unnest([{listed}]) AS lineage FROM {relation} i {where}
                  EXCEPT SELECT lineage FROM {lineages})
            WHERE lineage IS NOT NULL""")
        ids = ", ".join(f"{c}.lineage_id AS {c}_id" for c in LINEAGE_COLUMNS)
        columns = f"i.* EXCLUDE ({', '.join((*exclude, *LINEAGE_COLUMNS))}), {ids}"
        source += "".join(f" LEFT JOIN {lineages} {c} ON {c}.lineage = i.{c}"
                            for c in LINEAGE_COLUMNS)
    target = f"{db}.main.{stored_name(table)}"
    cursor = run(f"INSERT INTO {target} BY NAME SELECT {columns} FROM {source} {where} "
                 f"{order}")
    return int(cursor.fetchall()[0][0])


def existing_tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    """Names of the warehouse's own (non-temporary, ``main``) tables and views."""
    return {r[0] for r in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE NOT temporary "
        "AND database_name = current_database() AND schema_name = 'main' "
        "UNION ALL SELECT view_name FROM duckdb_views() WHERE NOT temporary AND NOT internal "
        "AND database_name = current_database() AND schema_name = 'main'").fetchall()}


def schema_version(con: duckdb.DuckDBPyConnection) -> int:
    """The warehouse's layout version: 0 empty, 1 written by ``vpkg load`` before sync
    (recorded since version 3, also by ``vpkg load``)."""
    tables = existing_tables(con)
    if "vpkg_warehouse" in tables:
        row = con.execute(
            "SELECT value FROM vpkg_warehouse WHERE key = 'schema_version'").fetchall()
        if row and str(row[0][0]).isdigit():
            return int(row[0][0])
    return 1 if tables & ({"packages"} | set(TABLES)) else 0


def check_version(con: duckdb.DuckDBPyConnection, where: str) -> int:
    """The layout version, or a `ParameterError` when a newer vpkg wrote the warehouse."""
    version = schema_version(con)
    if version > SCHEMA_VERSION:
        from vpkg.version import __version__

        raise ParameterError(
            f"{where}: this warehouse was written by a newer vpkg (layout version {version}; "
            f"vpkg {__version__} knows up to {SCHEMA_VERSION}); upgrade vpkg "
            "(pip install -U vpkg), or use another database file",
            parameter="db",
        )
    return version


def create_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create the missing warehouse tables; check that existing ones have vpkg's columns.

    A ``genomes`` table (written by vpkg before layout version 3) is converted to the view
    over ``genomes_base`` and ``genome_lineages``, keeping every row; the layout version is
    then recorded. Run it inside a transaction to make the conversion atomic.
    """
    check_version(con, "the warehouse")
    existing = existing_tables(con)
    db = _db(con)
    for table in TABLES:
        columns = _duckdb_columns(table)
        if table in existing:
            _check_columns(con, db, table, [(name, typ) for name, typ, _ in columns])
            if table == "genomes" and GENOMES_BASE not in existing:
                _convert_genomes(con, db, columns)  # layout 1 or 2
            continue
        if table == "genomes":
            _create_genomes(con, db, columns)
            continue
        defs = [f"{quote(n)} {t}{_compression(table, n)}{'' if nullable else ' NOT NULL'}"
                for n, t, nullable in columns]
        con.execute(f"CREATE TABLE {db}.main.{table} ({', '.join(defs)})")
    if "packages" in existing:
        _check_columns(con, db, "packages", [(n, t.split()[0]) for n, t in PACKAGES_COLUMNS])
    else:
        defs = ", ".join(f"{quote(n)} {t}" for n, t in PACKAGES_COLUMNS)
        con.execute(f"CREATE TABLE {db}.main.packages ({defs})")


def _create_genomes(con, db: str, columns: tuple[tuple[str, str, bool], ...]) -> None:
    """``genomes_base``, ``genome_lineages``, the ``genomes`` view over them, the version."""
    defs, select, joins = [], [], []
    for name, typ, nullable in columns:
        if name in LINEAGE_COLUMNS:
            defs.append(f"{quote(name + '_id')} INTEGER")
            lineage_type = typ
            select.append(f"{name}.lineage AS {quote(name)}")
            joins.append(f"LEFT JOIN {LINEAGES} {name} ON {name}.lineage_id = g.{name}_id")
        else:
            defs.append(f"{quote(name)} {typ}{'' if nullable else ' NOT NULL'}")
            select.append(f"g.{quote(name)}")
    con.execute(f"CREATE TABLE {db}.main.{GENOMES_BASE} ({', '.join(defs)})")
    con.execute(f"CREATE TABLE {db}.main.{LINEAGES} "
                f"(lineage_id INTEGER NOT NULL, lineage {lineage_type} NOT NULL)")
    # unqualified names: the view works under any name the database is attached as
    con.execute(f"CREATE VIEW {db}.main.genomes AS SELECT {', '.join(select)} "
                f"FROM {GENOMES_BASE} g {' '.join(joins)}")
    con.execute(f"CREATE TABLE IF NOT EXISTS {db}.main.vpkg_warehouse ({VERSION_TABLE})")
    con.execute(f"INSERT OR REPLACE INTO {db}.main.vpkg_warehouse "
                f"VALUES ('schema_version', '{SCHEMA_VERSION}')")


def _convert_genomes(con, db: str, columns: tuple[tuple[str, str, bool], ...]) -> None:
    """Turn a ``genomes`` table (layout 1 or 2) into the view over its stored rows."""
    if con.execute("SELECT count(*) FROM duckdb_views() WHERE view_name = 'genomes' "
                   "AND database_name = current_database() AND schema_name = 'main'"
                   ).fetchall()[0][0]:
        raise ParameterError(
            f"the database's view 'genomes' has no table {GENOMES_BASE!r} behind it; load "
            "into a new database file, or drop that view", parameter="db")
    con.execute(f"ALTER TABLE {db}.main.genomes RENAME TO {_T}old_genomes")
    _create_genomes(con, db, columns)
    insert_rows(con.execute, db, "genomes", f"{db}.main.{_T}old_genomes")
    con.execute(f"DROP TABLE {db}.main.{_T}old_genomes")


#: DuckDB settings of a warehouse vpkg opens itself (see benchmarks/warehouse_size.py): a new
#: file gets 64 KiB blocks (tables of a few thousand rows waste less of a block than with the
#: default 256 KiB); the write-ahead log is checkpointed every GiB instead of every 16 MiB,
#: because each checkpoint rewrites the last row group of every table and leaves the old
#: blocks free, so that a load of many small packages left the file half empty.
STORAGE_CONFIG = {"default_block_size": "65536", "checkpoint_threshold": "1GiB"}

#: Columns stored with zstd: sequence letters, which DuckDB would otherwise keep uncompressed
#: (its dictionary and FSST compression gain nothing on them); see benchmarks/warehouse_size.py.
ZSTD_COLUMNS = ("sequence",)


def _compression(table: str, column: str) -> str:
    """The ``USING COMPRESSION`` clause of a column (empty: DuckDB chooses)."""
    return " USING COMPRESSION zstd" if column in ZSTD_COLUMNS else ""


@functools.cache
def _duckdb_columns(table: str) -> tuple[tuple[str, str, bool], ...]:
    """(name, DuckDB type, nullable) of each column of a table, from its Arrow schema (once
    per process: every load checks the tables)."""
    import duckdb

    from vpkg.readers.arrays import empty_table  # Schema.empty_table() imports pandas

    arrow = schema(table)
    with duckdb.connect() as con:
        con.register("empty", empty_table(arrow))
        rows = con.execute("DESCRIBE SELECT * FROM empty").fetchall()
    return tuple((r[0], r[1], arrow.field(r[0]).nullable) for r in rows)


def _check_columns(con, db: str, table: str, expected: list[tuple[str, str]]) -> None:
    found = [(r[0], r[1]) for r in con.execute(f"DESCRIBE {db}.main.{table}").fetchall()]
    if found != expected:
        missing = [n for n, _ in expected if n not in dict(found)]
        detail = f"missing {', '.join(missing)}" if missing else "other column types or order"
        raise ParameterError(
            f"the database's table {table!r} does not have vpkg's columns ({detail}); load "
            "into a new database file, or drop that table",
            parameter="db",
        )


def is_loaded(con: duckdb.DuckDBPyConnection, md5: str) -> bool:
    """Whether a package with this md5 is recorded in ``packages``."""
    exists = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'packages' "
        "AND NOT temporary AND database_name = current_database() AND schema_name = 'main'"
    ).fetchall()[0][0]
    if not exists:
        return False
    found = con.execute(f"SELECT count(*) FROM {_db(con)}.main.packages WHERE md5 = ?", [md5])
    return found.fetchall()[0][0] > 0


def _db(con: duckdb.DuckDBPyConnection) -> str:
    """The current database's name, quoted: warehouse tables are qualified with it."""
    return quote(con.execute("SELECT current_database()").fetchall()[0][0])


def _record_package(
    con: duckdb.DuckDBPyConnection, api_version: str | None, result: LoadResult
) -> None:
    """Add the ``packages`` row of this load (the last statement before the commit)."""
    from vpkg.version import __version__

    values = {
        "file": result.file,
        "md5": result.md5,
        "api_version": api_version,
        "vpkg_version": __version__,
        "loaded_at": dt.datetime.now(dt.UTC).replace(tzinfo=None),
        **{f"{t}_rows": result.rows_read.get(t) for t in TABLES},
        "genomes_new": result.genomes_new,
        "genomes_updated": result.genomes_updated,
        "genomes_same": result.genomes_same,
        "genomes_older": result.genomes_older,
        "rows_inserted": sum(result.rows_inserted.values()),
        "rows_deleted": sum(result.rows_deleted.values()),
    }
    names = ", ".join(quote(n) for n in values)
    marks = ", ".join("?" for _ in values)
    con.execute(f"INSERT INTO {_db(con)}.main.packages ({names}) VALUES ({marks})",
                list(values.values()))


def connection(db) -> tuple[duckdb.DuckDBPyConnection, bool]:
    """(connection, whether we opened it) for a database path or an open connection."""
    import duckdb

    if isinstance(db, duckdb.DuckDBPyConnection):
        return db, False
    if not isinstance(db, str | os.PathLike):
        raise ParameterError(
            f"db must be a database file path or a DuckDB connection, not {type(db).__name__}",
            parameter="db",
        )
    try:
        return duckdb.connect(os.fspath(db), config=dict(STORAGE_CONFIG)), True
    except duckdb.Error as exc:
        raise VpkgError(
            f"{os.fspath(db)}: cannot open the DuckDB database ({duckdb_message(exc)}); check "
            "the path, and that no other process has it open"
        ) from None
