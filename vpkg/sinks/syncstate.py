"""What `vpkg sync` keeps in the warehouse beside the six tables, and how records are withdrawn.

Tables (all created by `prepare`, which also migrates a warehouse written by an older vpkg):

* ``withdrawn_<table>`` for each of the six tables: the same columns plus ``withdrawn_on``
  (DATE): rows of records NCBI stopped listing. Rows move there, never get deleted; a
  record that comes back moves back (`restore`).
* ``sync_scopes``: one row per scope (taxa + filters + include), with its ``cursor``, the
  start time of its last finished run, ``planned_at``, the start of the last run whose
  plan was committed (its changes are loaded, or waiting in ``sync_pending``), and
  ``full_listed_at``, the start of the last finished run that listed every accession.
* ``sync_members``: the accessions of each scope, ``active`` or ``withdrawn``; ``adopted``
  marks records that were already in the warehouse when the scope first listed them and
  that it did not download. Rows move to ``withdrawn_*`` only for records some scope
  downloaded (``adopted`` false) and no scope lists any more.
* ``sync_pending``: accessions a scope still has to download; a killed run leaves them here
  and the next run downloads them (and nothing it already committed).
* ``sync_window``: the accessions of the scope's lag window at its last planned run (a
  record that enters the window later was updated, or published late, since that run).
* ``sync_runs``: one row per committed run, with its counts.
* ``vpkg_warehouse``: ``schema_version`` of the layout (`SCHEMA_VERSION`; `create_tables`
  records it too).

>>> import duckdb
>>> con = duckdb.connect()
>>> prepare(con)  # the layout found: 0, an empty database
0
>>> con.execute("SELECT value FROM vpkg_warehouse WHERE key = 'schema_version'").fetchall()
[('3',)]
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import TYPE_CHECKING

from vpkg.errors import ParameterError
from vpkg.sinks.warehouse import (
    SCHEMA_VERSION,
    VERSION_TABLE,
    _db,
    check_version,
    create_tables,
    existing_tables,
    insert_rows,
    schema_version,
    stored_name,
)
from vpkg.tables import TABLES

if TYPE_CHECKING:  # pragma: no cover
    import duckdb

_STATE = {
    "vpkg_warehouse": VERSION_TABLE,
    "sync_scopes": "scope VARCHAR PRIMARY KEY, taxa VARCHAR[], filters VARCHAR, "
                   "include VARCHAR, cursor TIMESTAMP, planned_at TIMESTAMP, created_at TIMESTAMP, "
                   "last_run_at TIMESTAMP, full_listed_at TIMESTAMP",
    "sync_members": "scope VARCHAR, accession VARCHAR, status VARCHAR, adopted BOOLEAN, "
                    "since DATE, PRIMARY KEY (scope, accession)",
    "sync_pending": "scope VARCHAR, accession VARCHAR, PRIMARY KEY (scope, accession)",
    "sync_window": "scope VARCHAR, accession VARCHAR, PRIMARY KEY (scope, accession)",
    "sync_runs": "scope VARCHAR, started_at TIMESTAMP, finished_at TIMESTAMP, listed BIGINT, "
                 "added BIGINT, updated BIGINT, withdrawn BIGINT, unchanged BIGINT, "
                 "bytes BIGINT, requests BIGINT",
}
_TMP = "_vpkg_sync_acc"

__all__ = ["SCHEMA_VERSION", "check_version", "existing_tables", "prepare", "restore",
           "schema_version", "with_accessions", "withdraw"]


def prepare(con: duckdb.DuckDBPyConnection, where: str = "the warehouse") -> int:
    """Create (or migrate to) the current layout in one transaction; return the version found.

    A version-1 warehouse keeps every row: the new tables are added beside them.
    """
    found = check_version(con, where)
    if found == SCHEMA_VERSION and _STATE.keys() <= existing_tables(con):
        create_tables(con)  # checks the six tables' columns
        _check_withdrawn(con, where)
        _add_full_listed_at(con)
        return found
    con.begin()
    try:
        create_tables(con)
        db = _db(con)
        tables = existing_tables(con)
        for table in TABLES:
            if f"withdrawn_{table}" not in tables:
                con.execute(f"CREATE TABLE {db}.main.withdrawn_{table} AS SELECT *, "
                            f"NULL::DATE AS withdrawn_on FROM {db}.main.{table} LIMIT 0")
        for name, columns in _STATE.items():
            if name not in tables:
                con.execute(f"CREATE TABLE {db}.main.{name} ({columns})")
        _add_full_listed_at(con)
        con.execute(f"INSERT OR REPLACE INTO {db}.main.vpkg_warehouse VALUES "
                    f"('schema_version', '{SCHEMA_VERSION}')")
        con.commit()
    except BaseException:
        con.rollback()
        raise
    return found


def _add_full_listed_at(con) -> None:
    """``sync_scopes.full_listed_at`` came within layout 2; an older vpkg ignores it."""
    con.execute(f"ALTER TABLE {_db(con)}.main.sync_scopes ADD COLUMN IF NOT EXISTS "
                "full_listed_at TIMESTAMP")


def full_listed_at(con: duckdb.DuckDBPyConnection, scope: str) -> dt.datetime | None:
    """When a finished run of ``scope`` last listed every accession (``None``: never)."""
    columns = {r[0] for r in con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE table_name = 'sync_scopes' "
        "AND database_name = current_database() AND schema_name = 'main'").fetchall()}
    if "full_listed_at" not in columns:
        return None
    row = con.execute("SELECT full_listed_at FROM sync_scopes WHERE scope = ?",
                      [scope]).fetchall()
    return row[0][0] if row else None


def _check_withdrawn(con, where: str) -> None:
    """Each ``withdrawn_<table>`` has its table's columns plus ``withdrawn_on``."""
    db = _db(con)
    for table in TABLES:
        live = [r[:2] for r in con.execute(f"DESCRIBE {db}.main.{table}").fetchall()]
        gone = [r[:2] for r in con.execute(f"DESCRIBE {db}.main.withdrawn_{table}").fetchall()]
        if gone != live + [("withdrawn_on", "DATE")]:
            raise ParameterError(
                f"{where}: table withdrawn_{table} does not have the columns of {table} plus "
                "withdrawn_on (written by another vpkg version?); sync into a new --db file, "
                f"or add the missing columns to withdrawn_{table}",
                parameter="db",
            )


# ---- moving records -------------------------------------------------------------------------
def _owned(source_prefix: str) -> dict[str, str]:
    """For each table, the WHERE clause that picks the rows of the accessions in ``_TMP``.

    ``source_prefix`` is ``""`` for the live tables and ``"withdrawn_"`` for the others.
    """
    ann = f"{source_prefix}annotations"
    genomes = f"{source_prefix}genomes"
    live_genomes = "genomes" if source_prefix else ""
    mine = f"accession IN (SELECT accession FROM {_TMP})"
    proteins = (
        f"accession IN (SELECT protein_accession FROM {ann} WHERE {mine} UNION "
        f"SELECT unnest(mature_peptides).protein_accession FROM {ann} WHERE {mine})"
    )
    # a BioSample moves with the last genome that names it
    others = (f"SELECT biosample FROM genomes WHERE biosample IS NOT NULL "
              f"AND accession NOT IN (SELECT accession FROM {_TMP})")
    biosamples = (f"accession IN (SELECT biosample FROM {genomes} WHERE {mine}) "
                  f"AND accession NOT IN ({others})")
    if live_genomes:  # restoring: BioSamples already live stay as they are
        biosamples = (f"accession IN (SELECT biosample FROM {genomes} WHERE {mine}) "
                      "AND accession NOT IN (SELECT accession FROM biosamples)")
    where = {t: mine for t in ("genomes", "genome_sequences", "cds_sequences", "annotations")}
    where.update(protein_sequences=proteins, biosamples=biosamples)
    return where


def with_accessions(con, accessions: Iterable[str]) -> str:
    """Fill the temp table ``_vpkg_sync_acc`` (one column, ``accession``); return its name.

    Goes through Arrow: one statement, however many accessions.
    """
    import pyarrow as pa

    con.register("_vpkg_sync_arrow", pa.table({"accession": pa.array(sorted(set(accessions)),
                                                                     pa.string())}))
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {_TMP} AS SELECT * FROM _vpkg_sync_arrow")
    finally:
        con.unregister("_vpkg_sync_arrow")
    return _TMP


def withdraw(con: duckdb.DuckDBPyConnection, accessions: Iterable[str], day: dt.date) -> int:
    """Move the rows of these genome accessions, in every table, to ``withdrawn_<table>``.

    Runs inside the caller's transaction. Returns the number of genomes moved.
    """
    with_accessions(con, accessions)
    where = _owned("")
    moved = 0
    # proteins and BioSamples are found through annotations and genomes: move them first
    for table in ("protein_sequences", "biosamples", "cds_sequences", "genome_sequences",
                  "annotations", "genomes"):
        con.execute(f"INSERT INTO withdrawn_{table} SELECT *, ?::DATE FROM {table} "
                    f"WHERE {where[table]}", [day])
        n = con.execute(f"DELETE FROM {stored_name(table)} WHERE {where[table]}"
                        ).fetchall()[0][0]
        if table == "genomes":
            moved = int(n)
    con.execute(f"DROP TABLE {_TMP}")
    return moved


def restore(con: duckdb.DuckDBPyConnection, accessions: Iterable[str]) -> int:
    """Move withdrawn rows of these genome accessions back; rows whose key is live stay.

    Runs inside the caller's transaction. Returns the number of genomes restored.
    """
    with_accessions(con, accessions)
    where = _owned("withdrawn_")
    restored = 0
    # proteins and BioSamples are found through withdrawn annotations and genomes: first
    for table in ("protein_sequences", "biosamples", "cds_sequences", "genome_sequences",
                  "annotations", "genomes"):
        key = TABLES[table].key[0] if TABLES[table].key else "accession"
        con.execute(f"CREATE OR REPLACE TEMP TABLE _vpkg_sync_keys AS SELECT {key} FROM "
                    f"withdrawn_{table} WHERE {where[table]} AND {key} NOT IN "
                    f"(SELECT {key} FROM {table})")
        back = f"{key} IN (SELECT {key} FROM _vpkg_sync_keys)"
        n = insert_rows(con.execute, _db(con), table, f"withdrawn_{table}", f"WHERE {back}",
                        exclude=("withdrawn_on",))
        if table == "genomes":
            restored = int(n)
        # a copy whose key is live already (loaded again meanwhile) stays in withdrawn_
        con.execute(f"DELETE FROM withdrawn_{table} WHERE {back}")
        con.execute("DROP TABLE _vpkg_sync_keys")
    con.execute(f"DROP TABLE {_TMP}")
    return restored
