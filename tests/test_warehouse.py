"""vpkg.load: a persistent DuckDB warehouse with versioned, idempotent, atomic upserts.

Packages with newer or older records are built from real ones by editing their members
(``updateDate``, a value, a sequence) and recomputing md5sum.txt, so that they verify.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import duckdb
import pytest
from conftest import CONSTRUCTED, REAL, build_zip, older_layout, zip_members

import vpkg

#: The key of each warehouse table, as docs/warehouse.md gives them (annotations has none: it
#: is replaced per accession). The load keeps one row per key; there is no index.
KEYS = {"genomes": ("accession",), "genome_sequences": ("accession",), "cds_sequences": ("id",),
        "protein_sequences": ("id",), "annotations": (), "biosamples": ("accession",)}
TABLES = list(KEYS)
#: The columns of the `packages` table, as docs/warehouse.md lists them.
PACKAGES_COLUMNS = [
    "file", "md5", "api_version", "vpkg_version", "loaded_at", *[f"{t}_rows" for t in TABLES],
    "genomes_new", "genomes_updated", "genomes_same", "genomes_older", "rows_inserted",
    "rows_deleted",
]

REPO = Path(__file__).resolve().parent.parent
HANTA = next(p for p in REAL if p.stem == "Hantavirus_Z10")
ALL = CONSTRUCTED / "sars-cov-2_all_members.constructed.zip"
REPORT = "ncbi_dataset/data/data_report.jsonl"
GENOMIC = "ncbi_dataset/data/genomic.fna"
ANNOTATION = "ncbi_dataset/data/annotation_report.jsonl"
CDS = "ncbi_dataset/data/cds.fna"
PROTEIN = "ncbi_dataset/data/protein.faa"
BIOSAMPLE = "ncbi_dataset/data/biosample_report.jsonl"


# ---- building altered packages ---------------------------------------------------------------


def repack(src: Path, dst: Path, members: dict[str, bytes]) -> Path:
    """A zip of ``members``, with md5sum.txt recomputed for the members it lists."""
    if "md5sum.txt" in members:
        lines = []
        for line in members["md5sum.txt"].decode().splitlines():
            name = line.split(maxsplit=1)[1].strip()
            if name in members:
                lines.append(f"{hashlib.md5(members[name]).hexdigest()}  {name}")
        members["md5sum.txt"] = ("\n".join(lines) + "\n").encode()
    return build_zip(dst, members)


def records(data: bytes) -> list[dict]:
    return [json.loads(line) for line in data.splitlines() if line.strip()]


def jsonl(items: list[dict]) -> bytes:
    return b"".join(json.dumps(r).encode() + b"\n" for r in items)


def fasta(data: bytes) -> list[tuple[str, str]]:
    """(header, sequence) pairs, parsed here independently of vpkg."""
    out = []
    for chunk in data.decode().split(">")[1:]:
        header, _, body = chunk.partition("\n")
        out.append((header.strip(), "".join(body.split())))
    return out


def unfasta(items: list[tuple[str, str]]) -> bytes:
    return "".join(f">{h}\n{s}\n" for h, s in items).encode()


def altered(src: Path, dst: Path, accession: str, *, date: str, geo: str | None = None,
            sequence: str | None = None) -> Path:
    """``src`` with ``accession`` given a new updateDate, and optionally place and sequence."""
    members = zip_members(src)
    reps = records(members[REPORT])
    for r in reps:
        if r["accession"] == accession:
            r["updateDate"] = date
            if geo is not None:
                r.setdefault("location", {})["geographicLocation"] = geo
    members[REPORT] = jsonl(reps)
    if sequence is not None:
        seqs = fasta(members[GENOMIC])
        members[GENOMIC] = unfasta(
            [(h, sequence if h.split()[0] == accession else s) for h, s in seqs]
        )
    return repack(src, dst, members)


def snapshot(db: Path) -> dict[str, list]:
    """Every row of every warehouse table, sorted (``packages`` without ``loaded_at``)."""
    con = duckdb.connect(str(db), read_only=True)
    try:  # genomes is a view
        names = {r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables").fetchall()}
        shot = {t: con.sql(f"SELECT * FROM {t} ORDER BY ALL").fetchall()
                for t in TABLES if t in names}
        if "packages" in names:
            shot["packages"] = con.sql(
                "SELECT * EXCLUDE (loaded_at) FROM packages ORDER BY ALL").fetchall()
        return shot
    finally:
        con.close()


def query(db: Path, sql: str, params=None) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


# ---- first loads ---------------------------------------------------------------------------


def test_load_real_package_rows_and_values(real_zip, tmp_path):
    db = tmp_path / "wh.duckdb"
    (result,) = vpkg.load(real_zip, db)
    members = zip_members(real_zip)
    reports = records(members[REPORT])
    seqs = fasta(members[GENOMIC])
    assert result.genomes_new == len({r["accession"] for r in reports})
    assert query(db, "SELECT count(*) FROM genomes") == [(len(reports),)]
    assert query(db, "SELECT count(*) FROM genome_sequences") == [(len(seqs),)]
    first = reports[0]
    assert query(db, "SELECT length, update_date::VARCHAR FROM genomes WHERE accession = ?",
                 [first["accession"]]) == [(first["length"], first["updateDate"][:10])]
    header, sequence = seqs[-1]
    assert query(db, "SELECT sequence FROM genome_sequences WHERE accession = ?",
                 [header.split()[0]]) == [(sequence,)]
    row = query(db, "SELECT file, md5, api_version, genomes_rows, genome_sequences_rows, "
                    "cds_sequences_rows FROM packages")
    md5 = hashlib.md5(real_zip.read_bytes()).hexdigest()
    catalog = json.loads(members["ncbi_dataset/data/dataset_catalog.json"])
    assert row == [(str(real_zip.resolve()), md5, catalog["apiVersion"], len(reports),
                    len(seqs), None)]


def test_tables_have_the_contract_columns_and_no_index(tmp_path):
    db = tmp_path / "wh.duckdb"
    vpkg.load(ALL, db)
    con = duckdb.connect(str(db), read_only=True)
    pkg = vpkg.open_package(ALL)
    for table in TABLES:  # the columns and DuckDB types of the package's own tables
        arrow = pkg.table(table)  # noqa: F841  (read by DuckDB's replacement scan)
        assert [r[:2] for r in con.sql(f"DESCRIBE {table}").fetchall()] == [
            r[:2] for r in duckdb.sql("DESCRIBE SELECT * FROM arrow").fetchall()]
    assert [r[0] for r in con.execute("DESCRIBE packages").fetchall()] == PACKAGES_COLUMNS
    constraints = con.sql("SELECT table_name FROM duckdb_constraints() "
                          "WHERE constraint_type = 'PRIMARY KEY'").fetchall()
    assert {r[0] for r in constraints} == {"vpkg_warehouse"}
    # genomes is a view; its lineage lists are stored once each
    assert con.sql("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall() == [
        ("genomes",)]
    reports = records(zip_members(ALL)[REPORT])
    lineages = {json.dumps(r[k]["lineage"], sort_keys=True)
                for r in reports for k in ("host", "virus") if "lineage" in r.get(k, {})}
    assert con.sql("SELECT count(*) FROM genome_lineages").fetchall() == [(len(lineages),)]
    assert con.sql("SELECT value FROM vpkg_warehouse").fetchall() == [("3",)]
    con.close()


def test_one_row_per_key_after_reloads_and_a_newer_version(tmp_path):
    """Without primary keys, the load alone keeps one row per key."""
    first = records(zip_members(ALL)[REPORT])[0]["accession"]
    newer = altered(ALL, tmp_path / "newer.zip", first, date="2031-01-01T00:00:00Z",
                    geo="Chile")
    once, db = tmp_path / "once.duckdb", tmp_path / "wh.duckdb"
    vpkg.load(ALL, once)
    vpkg.load([ALL, newer], db)
    vpkg.load([ALL, newer], db, force=True)
    for table, key in KEYS.items():
        column = f"({key[0]})" if key else "(accession, gene_index, cds_index)"
        sql = f"SELECT count(*), count(DISTINCT {column}) FROM {table}"
        (count, distinct), = query(db, sql)
        assert count == distinct == query(once, sql)[0][0] > 0, table
    assert query(db, "SELECT accession FROM genomes WHERE geo_location = 'Chile'") == [(first,)]


def test_constructed_package_joins_in_the_warehouse(tmp_path):
    db = tmp_path / "wh.duckdb"
    vpkg.load(ALL, db)
    members = zip_members(ALL)
    assert query(db, "SELECT count(*) FROM annotations") == [(60,)]
    assert query(db, "SELECT count(*) FROM protein_sequences") == [(190,)]
    # genomes.biosample joins biosamples.accession; compare with the JSON itself
    samples = {r["accession"]: r for r in records(members[BIOSAMPLE])}
    got = query(db, "SELECT g.accession, b.accession, b.last_updated FROM genomes g "
                    "JOIN biosamples b ON b.accession = g.biosample ORDER BY 1")
    assert len(got) == 5
    for _, sample, when in got:
        assert when.isoformat().startswith(samples[sample]["lastUpdated"][:19])
    # every annotation row finds its CDS and protein sequence
    assert query(db, "SELECT count(*) FROM annotations a JOIN cds_sequences c ON c.id = a.cds_id "
                     "JOIN protein_sequences p ON p.id = a.protein_id") == [(60,)]


# ---- idempotence ---------------------------------------------------------------------------


def test_loading_twice_changes_nothing(tmp_path):
    db = tmp_path / "wh.duckdb"
    vpkg.load(ALL, db)
    before = snapshot(db)
    (again,) = vpkg.load(ALL, db)
    assert again.skipped
    assert snapshot(db) == before
    (forced,) = vpkg.load(ALL, db, force=True)
    assert not forced.skipped and forced.genomes_same == 5 and forced.genomes_new == 0
    after = snapshot(db)
    assert {t: rows for t, rows in after.items() if t != "packages"} == {
        t: rows for t, rows in before.items() if t != "packages"}
    assert len(after["packages"]) == 2


def test_extracted_folder_loads_like_the_zip(tmp_path):
    folder = tmp_path / "pkg"
    with zipfile.ZipFile(ALL) as zf:
        zf.extractall(folder)
    vpkg.load(ALL, tmp_path / "a.duckdb")
    vpkg.load(folder, tmp_path / "b.duckdb")
    a, b = snapshot(tmp_path / "a.duckdb"), snapshot(tmp_path / "b.duckdb")
    a.pop("packages"), b.pop("packages")
    assert a == b


# ---- versions ------------------------------------------------------------------------------


def test_newer_record_replaces_and_older_never_does(tmp_path):
    old = HANTA
    new = altered(HANTA, tmp_path / "new.zip", "AF143675.1", date="2025-01-02T00:00:00Z",
                  geo="Viet Nam", sequence="ACGT" * 10)
    db = tmp_path / "wh.duckdb"
    vpkg.load(old, db)
    (result,) = vpkg.load(new, db)
    assert (result.genomes_new, result.genomes_updated, result.genomes_same,
            result.genomes_older) == (0, 1, 8, 0)
    want = [("AF143675.1", "2025-01-02", "Viet Nam", "ACGT" * 10, 40)]
    sql = ("SELECT g.accession, g.update_date::VARCHAR, g.geo_location, s.sequence, s.length "
           "FROM genomes g JOIN genome_sequences s USING (accession) "
           "WHERE accession = 'AF143675.1'")
    assert query(db, sql) == want
    newest = snapshot(db)
    # the old package again (forced, since its md5 is recorded): nothing may change
    (again,) = vpkg.load(old, db, force=True)
    assert again.genomes_older == 1 and again.genomes_same == 8
    after = snapshot(db)
    assert after.pop("packages") != newest.pop("packages")
    assert after == newest
    assert query(db, sql) == want


def test_older_package_loaded_after_newer_is_ignored(tmp_path):
    new = altered(HANTA, tmp_path / "new.zip", "EF533944.1", date="2030-05-06T00:00:00Z",
                  geo="Mongolia")
    db = tmp_path / "wh.duckdb"
    vpkg.load(new, db)
    (result,) = vpkg.load(HANTA, db)
    assert result.genomes_older == 1
    assert query(db, "SELECT geo_location, update_date::VARCHAR FROM genomes "
                     "WHERE accession = 'EF533944.1'") == [("Mongolia", "2030-05-06")]


def test_duplicate_accessions_in_one_package_resolve_by_update_date(tmp_path):
    members = zip_members(HANTA)
    reps = records(members[REPORT])
    newer = json.loads(json.dumps(reps[0]))
    newer["updateDate"] = "2024-02-02T00:00:00Z"
    newer["location"] = {"geographicLocation": "Laos"}
    tie = json.loads(json.dumps(reps[1]))
    tie["location"] = {"geographicLocation": "Tie, last wins"}
    # newest first, then the older copy: the newest must win whatever the order
    members[REPORT] = jsonl([newer, *reps, tie])
    # a sequence twice: the last copy wins
    seqs = fasta(members[GENOMIC])
    members[GENOMIC] = unfasta([*seqs, (seqs[2][0], "TTTT")])
    pkg = repack(HANTA, tmp_path / "dups.zip", members)
    db = tmp_path / "wh.duckdb"
    (result,) = vpkg.load(pkg, db)
    assert result.rows_read["genomes"] == len(reps) + 2
    assert result.genomes_new == len(reps)
    got = dict(query(db, "SELECT accession, geo_location FROM genomes"))
    assert got[reps[0]["accession"]] == "Laos"
    assert got[reps[1]["accession"]] == "Tie, last wins"
    assert query(db, "SELECT count(*) FROM genomes") == [(len(reps),)]
    assert query(db, "SELECT count(*) FROM genome_sequences") == [(len(seqs),)]
    assert query(db, "SELECT sequence FROM genome_sequences WHERE accession = ?",
                 [seqs[2][0].split()[0]]) == [("TTTT",)]


def _without_first_cds(members: dict[str, bytes], accession: str) -> str:
    """Drop the first CDS of ``accession`` from the annotation report, cds.fna and
    protein.faa; return the dropped protein accession."""
    anns = records(members[ANNOTATION])
    for record in anns:
        if record["accession"] == accession:
            gene = record["genes"][0]
            cds = gene["cds"].pop(0)
            protein = cds["protein"]["accessionVersion"]
            cds_id = cds["nucleotide"]["seqId"]
    members[ANNOTATION] = jsonl(anns)
    members[CDS] = unfasta([(h, s) for h, s in fasta(members[CDS]) if h.split()[0] != cds_id])
    members[PROTEIN] = unfasta(
        [(h, s) for h, s in fasta(members[PROTEIN]) if not h.startswith(protein + ":")]
    )
    return protein


def test_newer_record_replaces_its_cds_proteins_and_annotations(tmp_path):
    members = zip_members(ALL)
    reps = records(members[REPORT])
    reps[0]["updateDate"] = "2021-01-01T00:00:00Z"
    accession = reps[0]["accession"]
    members[REPORT] = jsonl(reps)
    protein = _without_first_cds(members, accession)
    new = repack(ALL, tmp_path / "new.zip", members)
    db = tmp_path / "wh.duckdb"
    vpkg.load(ALL, db)
    count = ("SELECT (SELECT count(*) FROM annotations WHERE accession = $1), "
             "(SELECT count(*) FROM cds_sequences WHERE accession = $1), "
             "(SELECT count(*) FROM protein_sequences WHERE accession = $2)")
    before = query(db, count, [accession, protein])[0]
    assert before[0] == 12 and before[1] == 12 and before[2] > 0
    (result,) = vpkg.load(new, db)
    assert result.genomes_updated == 1 and result.genomes_same == 4
    assert query(db, count, [accession, protein]) == [(11, 11, 0)]
    assert query(db, "SELECT count(*) FROM annotations") == [(59,)]
    # the other genomes keep all their rows
    assert query(db, "SELECT count(*) FROM cds_sequences") == [(59,)]
    # and the original, older package cannot bring the dropped rows back
    vpkg.load(ALL, db, force=True)
    assert query(db, count, [accession, protein]) == [(11, 11, 0)]


def test_proteins_without_annotations_only_fill_in_new_ids(tmp_path):
    db = tmp_path / "wh.duckdb"
    vpkg.load(ALL, db)
    members = zip_members(ALL)
    del members[ANNOTATION]
    renamed = [(h.replace("leader protein", "RENAMED"), s) for h, s in fasta(members[PROTEIN])]
    extra = ("XX000001.1:1-4 invented [organism=test]", "MKLV")
    members[PROTEIN] = unfasta([*renamed, extra])
    pkg = repack(ALL, tmp_path / "noann.zip", members)
    vpkg.load(pkg, db)
    assert query(db, "SELECT count(*) FROM protein_sequences WHERE name = 'RENAMED'") == [(0,)]
    assert query(db, "SELECT sequence FROM protein_sequences WHERE id = 'XX000001.1:1-4'"
                 ) == [("MKLV",)]
    assert query(db, "SELECT count(*) FROM annotations") == [(60,)]  # table left alone


def test_biosamples_versioned_by_last_updated(tmp_path):
    members = zip_members(ALL)
    samples = records(members[BIOSAMPLE])
    target = samples[-1]["accession"]
    newer_members = dict(members)
    newer = [dict(s) for s in samples]
    newer[-1]["lastUpdated"] = "2030-01-01T00:00:00.000"
    newer[-1]["description"] = {**newer[-1].get("description", {}), "title": "newer title"}
    newer_members[BIOSAMPLE] = jsonl(newer)
    new = repack(ALL, tmp_path / "new.zip", newer_members)
    db = tmp_path / "wh.duckdb"
    sql = "SELECT title, last_updated::VARCHAR FROM biosamples WHERE accession = ?"
    vpkg.load(new, db)
    vpkg.load(ALL, db)  # older BioSample: ignored
    assert query(db, sql, [target]) == [("newer title", "2030-01-01 00:00:00")]
    db2 = tmp_path / "wh2.duckdb"
    vpkg.load(ALL, db2)
    vpkg.load(new, db2)  # newer BioSample: replaces
    assert query(db2, sql, [target]) == [("newer title", "2030-01-01 00:00:00")]
    assert query(db2, "SELECT count(*) FROM biosamples") == [(len(samples),)]


# ---- atomicity -----------------------------------------------------------------------------


def _damaged_annotations(tmp_path: Path) -> Path:
    members = zip_members(ALL)
    reps = records(members[REPORT])
    for r in reps:
        r["updateDate"] = "2029-01-01T00:00:00Z"
    members[REPORT] = jsonl(reps)
    lines = members[ANNOTATION].splitlines(keepends=True)
    lines[3] = b'{"accession": "MT969961.1", "genes": [\n'
    members[ANNOTATION] = b"".join(lines)
    members.pop("md5sum.txt")
    return build_zip(tmp_path / "damaged.zip", members)


def test_error_mid_load_leaves_the_warehouse_as_it_was(tmp_path):
    db = tmp_path / "wh.duckdb"
    vpkg.load(ALL, db)
    before = snapshot(db)
    with pytest.raises(vpkg.FormatError, match="annotation_report.jsonl line 4"):
        vpkg.load(_damaged_annotations(tmp_path), db)
    assert snapshot(db) == before


def test_failed_first_load_creates_no_tables(tmp_path):
    db = tmp_path / "wh.duckdb"
    with pytest.raises(vpkg.FormatError):
        vpkg.load(_damaged_annotations(tmp_path), db)
    assert snapshot(db) == {}


KILLER = """
import os, signal, sys
import vpkg.sinks.warehouse as wh

def die(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)

owner, name = sys.argv[3].rpartition(".")[::2]
setattr(wh._Load if owner == "_Load" else wh, name, die)
import vpkg
vpkg.load(sys.argv[1], sys.argv[2], progress=False)
"""


@pytest.mark.parametrize("hook", ["_record_package", "_Load.replace_annotations"])
def test_killed_load_leaves_the_previous_state(tmp_path, hook):
    """A child process is SIGKILLed inside the transaction: after the genomes and
    sequences were replaced (``replace_annotations``), or just before the commit."""
    db = tmp_path / "wh.duckdb"
    vpkg.load(ALL, db)
    before = snapshot(db)
    members = zip_members(ALL)
    reps = records(members[REPORT])
    for r in reps:
        r["updateDate"] = "2029-01-01T00:00:00Z"
        r["location"] = {"geographicLocation": "Killed"}
    members[REPORT] = jsonl(reps)
    new = repack(ALL, tmp_path / "new.zip", members)
    script = tmp_path / "killer.py"
    script.write_text(KILLER)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    child = subprocess.run([sys.executable, str(script), str(new), str(db), hook],
                           env=env, capture_output=True, text=True, timeout=120)
    assert child.returncode == -9, child.stderr
    assert snapshot(db) == before
    # the warehouse is usable afterwards and the same package then loads
    (result,) = vpkg.load(new, db)
    assert result.genomes_updated == 5
    assert query(db, "SELECT DISTINCT geo_location FROM genomes") == [("Killed",)]


def test_a_warehouse_of_an_older_vpkg_is_converted(tmp_path):
    """A ``genomes`` table (layout 1 or 2) becomes the view over stored rows and lineages,
    in the first load's transaction, with every row kept."""
    db, fresh = tmp_path / "old.duckdb", tmp_path / "fresh.duckdb"
    vpkg.load(HANTA, db)
    older_layout(db)
    assert query(db, "SELECT table_type FROM information_schema.tables "
                     "WHERE table_name = 'genomes'") == [("BASE TABLE",)]
    vpkg.load(ALL, db)
    vpkg.load([HANTA, ALL], fresh)
    got, want = snapshot(db), snapshot(fresh)
    assert got.pop("packages") == want.pop("packages")
    assert got == want and len(got["genomes"]) == 14
    assert query(db, "SELECT table_name, table_type FROM information_schema.tables "
                     "WHERE table_name LIKE 'genome%' ORDER BY 1") == [
        ("genome_lineages", "BASE TABLE"), ("genome_sequences", "BASE TABLE"),
        ("genomes", "VIEW"), ("genomes_base", "BASE TABLE")]
    assert query(db, "SELECT value FROM vpkg_warehouse") == [("3",)]


def test_a_warehouse_of_a_newer_vpkg_is_refused(tmp_path):
    db = tmp_path / "new.duckdb"
    vpkg.load(HANTA, db)
    con = duckdb.connect(str(db))
    con.execute("UPDATE vpkg_warehouse SET value = '9'")
    con.close()
    with pytest.raises(vpkg.ParameterError, match="written by a newer vpkg .layout version 9"):
        vpkg.load(ALL, db)


def test_existing_table_with_other_columns_is_refused(tmp_path):
    db = tmp_path / "wh.duckdb"
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE genomes (accession VARCHAR, something INTEGER)")
    con.close()
    with pytest.raises(vpkg.ParameterError, match="'genomes' does not have vpkg's columns"):
        vpkg.load(HANTA, db)
    vpkg.load(HANTA, tmp_path / "other.duckdb")
    con = duckdb.connect(str(db))
    con.execute(f"DROP TABLE genomes; ATTACH '{tmp_path / 'other.duckdb'}' AS other; "
                "CREATE TABLE mine AS SELECT * FROM other.genomes; DETACH other; "
                "CREATE VIEW genomes AS SELECT * FROM mine")
    con.close()
    with pytest.raises(vpkg.ParameterError, match="view 'genomes' has no table 'genomes_base'"):
        vpkg.load(HANTA, db)


def test_load_into_an_open_connection(tmp_path):
    con = duckdb.connect()
    results = vpkg.load([HANTA, ALL], con)
    assert [r.genomes_new for r in results] == [9, 5]
    assert con.execute("SELECT count(*) FROM genomes").fetchall() == [(14,)]
    assert con.execute("SELECT count(*) FROM packages").fetchall() == [(2,)]
    con.close()


def test_bad_db_argument(tmp_path):
    with pytest.raises(vpkg.ParameterError, match="db must be"):
        vpkg.load(HANTA, 42)
    with pytest.raises(vpkg.VpkgError, match="cannot open the DuckDB database"):
        vpkg.load(HANTA, tmp_path / "missing" / "dir" / "wh.duckdb")
