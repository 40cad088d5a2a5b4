"""The numbers of a report, computed with DuckDB: every figure is one aggregate query.

The genomes and genome sequences of the inputs are first copied, reduced to the few columns a
report needs, into two tables of the (in-memory) DuckDB database (``_r_genomes``,
``_r_sequences``): one streaming scan of each member, in bounded batches, so that a package is
parsed once whatever the number of charts. Every chart and count is then an aggregate over
those small tables, and only the aggregates (never the rows) go into the page.

>>> import duckdb, vpkg
>>> con = duckdb.connect()
>>> pkg = vpkg.open_package("fixtures/real/Rotavirus_J.zip")
>>> sources = stage_packages(con, [pkg.report_input()])
>>> data = gather(con, sources)
>>> data["header"]["genomes"], data["header"]["countries"]
(32, 3)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from vpkg.errors import VpkgError
from vpkg.sinks.duckdb_common import quote, reraise
from vpkg.sinks.warehouse import GENOMES_BASE, LINEAGES

if TYPE_CHECKING:  # pragma: no cover
    from collections.abc import Callable

    import duckdb

    from vpkg.sources import Source

#: The columns of ``genomes`` a report reads (``country`` is derived from ``geo_location``).
GENOME_COLUMNS = [
    "accession", "completeness", "source_database", "is_annotated", "is_lab_host",
    "is_vaccine_strain", "length", "segment", "release_date", "update_date",
    "collection_date", "host_name", "virus_tax_id", "virus_name", "geo_location", "biosample",
]
#: Bars shown for countries and hosts; the rest are summed as "other".
TOP = 15
#: Bins of a length histogram (per segment).
LENGTH_BINS = 30
#: Bin widths (days) tried for the release lag, the first giving at most this many bins.
LAG_WIDTHS = [1, 7, 30, 91, 365, 730, 1826, 3652]
LAG_MAX_BINS = 60
#: Segments shown as separate length histograms; rarer ones are left out (the caption says).
MAX_SEGMENTS = 12


@dataclass
class PackageInput:
    """One package as the report sees it: its sources and a way to verify it.

    ``genomes`` and ``genome_sequences`` are the package's sources (None when it lacks the
    member); ``verify`` checks its CRCs and md5s and returns the member md5s
    (``Package.verify``); ``members`` are (member, bytes). ``verify_after_reads``: the
    sources' reads are what ``verify`` checks (`vpkg.container.checked.CheckedReads`), so it
    runs once they are done rather than beside them.
    """

    path: str
    members: list[tuple[str, int]]
    genomes: Source | None
    genome_sequences: Source | None
    verify: Callable[[], dict[str, str]]
    verify_after_reads: bool = False


@dataclass
class Sources:
    """What the staged tables came from: which inputs held a report and sequences."""

    has_genomes: bool = False
    has_sequences: bool = False
    genome_rows: int = 0  # rows read, duplicates included
    sequence_rows: int = 0
    inputs: list[dict[str, Any]] = field(default_factory=list)  # one per package / warehouse
    warehouse: str | None = None  # the attached warehouse's catalog name


# ---- staging ---------------------------------------------------------------------------------


class _Projected:
    """A package table reduced to some columns on the Arrow side, for one DuckDB scan.

    DuckDB cannot push a projection into an Arrow stream, so without this it would convert
    every column (lineages, ``extra``, sequences) only to drop most of them. A `VpkgError`
    the reader raises is kept in ``error``: DuckDB passes it on only as text.
    """

    def __init__(self, source: Source, columns: list[str], batch_size: int):
        self.error: VpkgError | None = None
        reader = source.reader(batch_size)
        self.schema = pa.schema([reader.schema.field(c) for c in columns])
        self.reader = pa.RecordBatchReader.from_batches(
            self.schema, self._batches(reader, columns))

    def _batches(self, reader, columns: list[str]):
        try:
            for batch in reader:
                yield batch.select(columns)
        except VpkgError as exc:
            self.error = exc
            raise
        finally:
            reader.close()


def stage_packages(con: duckdb.DuckDBPyConnection, packages: list[PackageInput],
                   verify: bool = True, batch_size: int = 65536) -> Sources:
    """Copy the report columns of every package's genomes and sequences into the database.

    The genomes, the sequences and the verification run on
    three threads (DuckDB and the readers' parsers release the GIL for most of their work),
    each with its own cursor on ``con``'s in-memory database. Verification failures are
    recorded in ``Sources.inputs``, not raised; a member that cannot be read raises its
    `VpkgError`.
    """
    from concurrent.futures import ThreadPoolExecutor

    sources = Sources()
    holding = {t: [getattr(p, t) for p in packages if getattr(p, t) is not None]
               for t in ("genomes", "genome_sequences")}
    sources.has_genomes = bool(holding["genomes"])
    sources.has_sequences = bool(holding["genome_sequences"])
    with ThreadPoolExecutor(max_workers=3) as pool:
        genomes = pool.submit(_stage_table, con.cursor(), holding["genomes"], "genomes",
                              GENOME_COLUMNS, batch_size)
        sequences = pool.submit(_stage_table, con.cursor(), holding["genome_sequences"],
                                "genome_sequences", ["accession", "length"], batch_size)
        beside = [p for p in packages if not p.verify_after_reads]
        checks = pool.submit(lambda: {id(p): _package_input(p, verify) for p in beside})
        sources.genome_rows = genomes.result()
        sources.sequence_rows = sequences.result()
        done = checks.result()
    sources.inputs = [done[id(p)] if id(p) in done else _package_input(p, verify)
                      for p in packages]
    _distinct(con, sources)
    return sources


def _stage_table(con, tables: list[Source], table: str, columns: list[str],
                 batch_size: int) -> int:
    """``_r_all_<table>``: the columns of ``table`` of every package, one after another."""
    target = f"_r_all_{table}"
    try:
        for number, table_source in enumerate(tables):
            source = _Projected(table_source, columns, batch_size)
            name = f"_r_in{number}_{table}"
            con.register(name, source.reader)
            try:
                verb = f"CREATE TABLE {target} AS" if number == 0 else f"INSERT INTO {target}"
                con.execute(f"{verb} SELECT * FROM {name}")
            except Exception as exc:
                if source.error is not None:
                    raise source.error from None
                reraise(exc, [], f"reading {table} of {table_source.container.path} for the "
                        "report failed", query=False)
            finally:
                con.unregister(name)
        return _scalar(con, f"SELECT count(*) FROM {target}") if tables else 0
    finally:
        con.close()


def stage_warehouse(con: duckdb.DuckDBPyConnection, path: str) -> Sources:
    """Attach a warehouse (read-only) and copy its report columns into the database."""
    con.execute(f"ATTACH {_literal(path)} AS _r_wh (READ_ONLY)")
    # tables and views (genomes is one), without the tables that store genomes' rows
    tables = [r[0] for r in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_catalog = '_r_wh' "
        f"AND table_schema = 'main' AND table_name NOT IN ('{GENOMES_BASE}', '{LINEAGES}') "
        "ORDER BY table_name").fetchall()]
    sources = Sources(warehouse="_r_wh")
    for table, columns in (("genomes", GENOME_COLUMNS),
                           ("genome_sequences", ["accession", "length"])):
        if table in tables:
            listed = ", ".join(quote(c) for c in columns)
            con.execute(f"CREATE TABLE _r_all_{table} AS SELECT {listed} "
                        f"FROM _r_wh.main.{table}")
    sources.has_genomes = "genomes" in tables
    sources.has_sequences = "genome_sequences" in tables
    if sources.has_genomes:
        sources.genome_rows = _scalar(con, "SELECT count(*) FROM _r_all_genomes")
    if sources.has_sequences:
        sources.sequence_rows = _scalar(con, "SELECT count(*) FROM _r_all_genome_sequences")
    counts = {t: con.execute(f"SELECT count(*) FROM _r_wh.main.{quote(t)}").fetchall()[0][0]
              for t in tables}
    sources.inputs.append({"path": path, "kind": "warehouse", "tables": counts})
    _distinct(con, sources)
    return sources


def _distinct(con, sources: Sources) -> None:
    """``_r_genomes`` and ``_r_sequences``: one row per distinct accession (for genomes, the
    latest ``update_date`` wins), with the derived columns the charts group by."""
    columns = ", ".join(
        [*(quote(c) for c in GENOME_COLUMNS if c != "update_date"),
         "trim(split_part(geo_location, ':', 1)) AS country",
         "TRY_CAST(regexp_extract(collection_date, '^([0-9]{4})', 1) AS INTEGER) AS "
         "collection_year",
         # a collection day only when the date has one: YYYY-MM-DD
         "TRY_CAST(CASE WHEN regexp_full_match(collection_date, '[0-9]{4}-[0-9]{2}-[0-9]{2}') "
         "THEN collection_date END AS DATE) AS collection_day"])
    if sources.has_genomes:
        distinct = _scalar(con, "SELECT count(DISTINCT accession) FROM _r_all_genomes")
        dedupe = "" if distinct == sources.genome_rows else (
            "QUALIFY row_number() OVER (PARTITION BY accession "
            "ORDER BY update_date DESC NULLS LAST) = 1")
        con.execute(f"CREATE TABLE _r_genomes AS SELECT {columns} FROM _r_all_genomes {dedupe}")
        con.execute("DROP TABLE _r_all_genomes")
    else:
        empty = ", ".join(f"NULL::{t} AS {c}" for c, t in [
            ("accession", "VARCHAR"), ("completeness", "VARCHAR"),
            ("source_database", "VARCHAR"), ("is_annotated", "BOOLEAN"),
            ("is_lab_host", "BOOLEAN"), ("is_vaccine_strain", "BOOLEAN"),
            ("length", "BIGINT"), ("segment", "VARCHAR"), ("release_date", "DATE"),
            ("collection_date", "VARCHAR"), ("host_name", "VARCHAR"),
            ("virus_tax_id", "BIGINT"), ("virus_name", "VARCHAR"),
            ("geo_location", "VARCHAR"), ("biosample", "VARCHAR"), ("country", "VARCHAR"),
            ("collection_year", "INTEGER"), ("collection_day", "DATE")])
        con.execute(f"CREATE TABLE _r_genomes AS SELECT {empty} LIMIT 0")
    if sources.has_sequences:
        con.execute("CREATE TABLE _r_sequences AS SELECT accession, max(length) AS length "
                    "FROM _r_all_genome_sequences GROUP BY accession")
        con.execute("DROP TABLE _r_all_genome_sequences")
    else:
        con.execute("CREATE TABLE _r_sequences AS "
                    "SELECT NULL::VARCHAR AS accession, NULL::BIGINT AS length LIMIT 0")


def _package_input(pkg: PackageInput, verify: bool) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "path": pkg.path, "kind": "package", "members": pkg.members,
        "verified": None, "verify_message": "not checked",
    }
    if verify:
        try:
            digests = pkg.verify()
        except VpkgError as exc:
            entry["verified"], entry["verify_message"] = False, str(exc)
        else:
            entry["verified"] = True
            entry["verify_message"] = f"{len(digests)} members read without error"
    return entry


# ---- the figures -----------------------------------------------------------------------------


def gather(con: duckdb.DuckDBPyConnection, sources: Sources) -> dict[str, Any]:
    """Every number of the report, from the staged tables: plain Python values."""
    g = "_r_genomes"
    header = dict(zip(
        ["genomes", "viruses", "hosts", "countries", "collection_first", "collection_last",
         "release_first", "release_last"],
        con.execute(
            f"SELECT count(*), count(DISTINCT coalesce(CAST(virus_tax_id AS VARCHAR), "
            f"virus_name)), count(DISTINCT host_name), count(DISTINCT nullif(country, '')), "
            f"min(collection_date), max(collection_date), min(release_date), "
            f"max(release_date) FROM {g}").fetchall()[0], strict=True))
    header["sequences"] = _scalar(con, "SELECT count(*) FROM _r_sequences")
    for key in ("release_first", "release_last"):
        header[key] = header[key].isoformat() if header[key] is not None else None
    data: dict[str, Any] = {"header": header, "sources": sources}
    data["collection_years"] = _rows(
        con, f"SELECT collection_year AS year, coalesce(completeness, 'not given') AS "
        f"completeness, count(*) AS genomes FROM {g} WHERE collection_year IS NOT NULL "
        "GROUP BY ALL ORDER BY year, completeness")
    data["no_collection_year"] = _scalar(
        con, f"SELECT count(*) FROM {g} WHERE collection_year IS NULL")
    data["release_years"] = _rows(
        con, f"SELECT year(release_date) AS year, count(*) AS genomes FROM {g} "
        "WHERE release_date IS NOT NULL GROUP BY ALL ORDER BY year")
    data["no_release_date"] = _scalar(con, f"SELECT count(*) FROM {g} WHERE release_date IS NULL")
    data.update(_lag(con))
    data["countries"] = _top(con, "country")
    data["no_country"] = _scalar(con, f"SELECT count(*) FROM {g} WHERE nullif(country, '') "
                                 "IS NULL")
    data["hosts"] = _top(con, "host_name")
    data["no_host"] = _scalar(con, f"SELECT count(*) FROM {g} WHERE nullif(host_name, '') IS NULL")
    data.update(_lengths(con, sources))
    data["shares"] = _shares(con)
    data["quality"] = _quality(con, sources)
    if sources.warehouse:
        data["loads"] = _loads(con, sources.warehouse)
        data["sync_runs"] = sync_runs(con, sources.warehouse)
    return data


def _lag(con) -> dict[str, Any]:
    """Release lag in days, binned with the first width in `LAG_WIDTHS` that fits."""
    where = "release_date IS NOT NULL AND collection_day IS NOT NULL"
    low, high, n = con.execute(
        f"SELECT min(release_date - collection_day), max(release_date - collection_day), "
        f"count(*) FROM _r_genomes WHERE {where}").fetchall()[0]
    if not n:
        return {"lag": [], "lag_width": None, "lag_genomes": 0}
    width = next((w for w in LAG_WIDTHS if (high - low) // w + 1 <= LAG_MAX_BINS),
                 LAG_WIDTHS[-1])
    rows = _rows(
        con, f"SELECT floor((release_date - collection_day) / {width})::BIGINT * {width} "
        f"AS lag_start, count(*) AS genomes FROM _r_genomes WHERE {where} "
        "GROUP BY ALL ORDER BY lag_start")
    for row in rows:
        row["lag_end"] = row["lag_start"] + width
    return {"lag": rows, "lag_width": width, "lag_genomes": n}


def _top(con, column: str) -> list[dict[str, Any]]:
    """The `TOP` most frequent values of a column, the rest summed as "other"."""
    rows = _rows(
        con, f"SELECT {column} AS name, count(*) AS genomes FROM _r_genomes "
        f"WHERE nullif({column}, '') IS NOT NULL GROUP BY ALL ORDER BY genomes DESC, name")
    if len(rows) > TOP:
        other = sum(r["genomes"] for r in rows[TOP:])
        rows = rows[:TOP] + [{"name": "other", "genomes": other}]
    for rank, row in enumerate(rows):
        row["rank"] = rank
    return rows


def _lengths(con, sources: Sources) -> dict[str, Any]:
    """Length histograms: per segment when the report names segments, else one.

    Lengths come from the data report (``length``) when there is one, else from the
    sequences. Each segment has its own `LENGTH_BINS` bins between its shortest and longest
    genome.
    """
    if sources.has_genomes:
        base = "SELECT coalesce(segment, '') AS segment, length FROM _r_genomes"
        origin = "data report"
    else:
        base = "SELECT '' AS segment, length FROM _r_sequences"
        origin = "genomic.fna"
    counts = _rows(con, f"SELECT segment, count(*) AS n FROM ({base}) WHERE length IS NOT NULL "
                   "GROUP BY ALL ORDER BY n DESC, segment")
    segmented = any(r["segment"] for r in counts)
    kept = [r["segment"] for r in counts[:MAX_SEGMENTS]]
    left_out = sum(r["n"] for r in counts[MAX_SEGMENTS:])
    listed = ", ".join(_literal(s) for s in kept) or "NULL"
    rows = _rows(
        con, f"""WITH l AS ({base}), s AS (
            SELECT segment, min(length) AS lo, max(length) AS hi,
                   greatest(1, ceil((max(length) - min(length) + 1) / {LENGTH_BINS}))::BIGINT
                   AS width
            FROM l WHERE length IS NOT NULL GROUP BY segment)
        SELECT l.segment, s.lo + (l.length - s.lo) // s.width * s.width AS length_start,
               s.width AS width, count(*) AS genomes
        FROM l JOIN s USING (segment) WHERE l.segment IN ({listed})
        GROUP BY ALL ORDER BY l.segment, length_start""")
    for row in rows:
        row["length_end"] = row["length_start"] + row.pop("width")
        row["segment"] = f"segment {row['segment']}" if row["segment"] else "no segment given"
    return {"lengths": rows, "segmented": segmented, "lengths_from": origin,
            "lengths_left_out": left_out}


def _shares(con) -> list[dict[str, Any]]:
    """Complete, RefSeq, annotated, lab host and vaccine strain: genomes and percent."""
    total, *counts = con.execute(
        "SELECT count(*), count(*) FILTER (completeness = 'COMPLETE'), "
        "count(*) FILTER (source_database = 'RefSeq'), count(*) FILTER (is_annotated), "
        "count(*) FILTER (is_lab_host), count(*) FILTER (is_vaccine_strain) FROM _r_genomes"
    ).fetchall()[0]
    names = ["complete", "RefSeq", "annotated", "lab host", "vaccine strain"]
    return [{"share": name, "genomes": n, "total": total,
             "percent": round(100 * n / total, 1) if total else 0.0}
            for name, n in zip(names, counts, strict=True)] if total else []


def _quality(con, sources: Sources) -> list[dict[str, Any]]:
    """The data-quality rows: what each counts, the count, its share and of what."""
    rows = []
    total = _scalar(con, "SELECT count(*) FROM _r_genomes")
    if sources.has_genomes:
        for what, condition in [
            ("genomes without a collection date", "nullif(collection_date, '') IS NULL"),
            ("genomes without a host", "nullif(host_name, '') IS NULL"),
            ("genomes without a location", "nullif(geo_location, '') IS NULL"),
            ("genomes without a BioSample", "nullif(biosample, '') IS NULL"),
        ]:
            n = _scalar(con, f"SELECT count(*) FROM _r_genomes WHERE {condition}")
            rows.append({"what": what, "count": n, "of": total})
        rows.append({"what": "report records repeating an accession",
                     "count": sources.genome_rows - total, "of": sources.genome_rows})
    if sources.has_genomes and sources.has_sequences:
        rows.append({"what": "report accessions without a sequence", "of": total, "count": _scalar(
            con, "SELECT count(*) FROM _r_genomes g ANTI JOIN _r_sequences USING (accession)")})
        sequences = _scalar(con, "SELECT count(*) FROM _r_sequences")
        rows.append({"what": "sequences without a report record", "of": sequences,
                     "count": _scalar(con, "SELECT count(*) FROM _r_sequences s "
                                      "ANTI JOIN _r_genomes USING (accession)")})
    for row in rows:
        row["percent"] = round(100 * row["count"] / row["of"], 1) if row["of"] else None
    return rows


def _loads(con, db: str) -> list[dict[str, Any]]:
    """One row per `vpkg load` recorded in the warehouse's ``packages`` table."""
    if not _has_table(con, db, "packages"):
        return []
    return _rows(
        con, f"SELECT row_number() OVER (ORDER BY loaded_at) AS load, file, "
        f"strftime(loaded_at, '%Y-%m-%d %H:%M') AS loaded_at, genomes_new AS new, "
        f"genomes_updated AS updated FROM {db}.main.packages ORDER BY loaded_at")


def sync_runs(con, db: str) -> list[dict[str, Any]] | None:
    """Added, updated and withdrawn per run, from a table of `vpkg sync` runs, if any.

    The table is found by its columns rather than its name, since ``vpkg sync`` is newer
    than the report: the first table of the warehouse whose name starts with ``sync`` and
    that has columns named ``added``, ``updated`` and ``withdrawn`` (or starting with those
    words, such as ``added_genomes``); a run is labelled by its first date or time column.
    None when the warehouse has no such table.
    """
    tables = con.execute(
        "SELECT table_name, list(column_name ORDER BY column_index), "
        "list(data_type ORDER BY column_index) FROM duckdb_columns() "
        f"WHERE database_name = {_literal(db.strip(chr(34)))} AND schema_name = 'main' "
        "AND starts_with(lower(table_name), 'sync') GROUP BY table_name ORDER BY table_name"
    ).fetchall()
    for table, names, types in tables:
        lower = [n.lower() for n in names]
        picked = {}
        for word in ("added", "updated", "withdrawn"):
            picked[word] = next((names[i] for i, n in enumerate(lower) if n.startswith(word)),
                                None)
        if None in picked.values():
            continue
        when = next((names[i] for i, t in enumerate(types)
                     if t.startswith(("TIMESTAMP", "DATE"))), None)
        order = quote(when) if when else "rowid"
        label = f"CAST({quote(when)} AS VARCHAR)" if when else "CAST(rowid + 1 AS VARCHAR)"
        return _rows(
            con, f"SELECT row_number() OVER (ORDER BY {order}) AS run, {label} AS started, "
            + ", ".join(f"coalesce({quote(c)}, 0)::BIGINT AS {w}" for w, c in picked.items())
            + f" FROM {db}.main.{quote(table)} ORDER BY {order}")
    return None


# ---- helpers ---------------------------------------------------------------------------------


def _has_table(con, db: str, table: str) -> bool:
    return bool(_scalar(
        con, f"SELECT count(*) FROM duckdb_tables() WHERE database_name = {_literal(db)} "
        f"AND schema_name = 'main' AND table_name = {_literal(table)}"))


def _rows(con, sql: str) -> list[dict[str, Any]]:
    cursor = con.execute(sql)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _scalar(con, sql: str) -> Any:
    return con.execute(sql).fetchall()[0][0]


def _literal(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"
