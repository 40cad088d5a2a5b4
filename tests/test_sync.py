"""`vpkg sync`, the listing client and the taxon download, against the stand-in world.

The world (tests/ncbi_world.py) serves the real records of ``fixtures/world/`` (7 corpus
packages: 22 Geminiviridae and 13 Circoviridae records). Tests change it between runs and
check after every run that the warehouse holds exactly the world's records of the scope:
accessions, ``update_date`` and sequence, compared with the world's raw JSON and FASTA.
Time is fake for retries (no real sleeps).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import signal
import subprocess
import sys
import threading
import zipfile

import duckdb
import pytest
from conftest import older_layout
from ncbi_server import (  # noqa: F401  (fixtures)
    drop,
    error,
    fake_time_fixture,
    ncbi_fixture,
    ok,
    policy_fixture,
    status,
)
from ncbi_world import CIRCO, GEMINI, WORLD, World, read_packages

import vpkg
from vpkg.errors import DownloadError, ParameterError
from vpkg.fetch.listing import list_reports

KEY = "0123456789abcdefSECRETKEY"


@pytest.fixture(name="world")
def world_fixture(ncbi):
    ncbi.world = World()
    return ncbi.world


def day(days_ago: int) -> str:
    return (dt.datetime.now(dt.UTC).date() - dt.timedelta(days=days_ago)).isoformat()


def sync(db, policy, taxon=GEMINI, **kw):
    kw = {"page_size": 10, "chunk_size": 8, "progress": False, "retry_policy": policy, **kw}
    return vpkg.sync(db, taxon, **kw)


def sequence(fasta: bytes) -> str:
    return b"".join(fasta.split(b"\n", 1)[1].split()).decode()


def rows(db, sql):
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def assert_equals_world(db, world, taxon=GEMINI, others=()):
    """genomes + genome_sequences hold exactly the world's records of ``taxon``."""
    expected = {a: r for a, r in world.records.items() if world.taxon_matches(taxon, r.report)}
    got = dict(rows(db, "SELECT accession, update_date FROM genomes"))
    assert set(got) - set(others) == set(expected)
    for acc, record in expected.items():
        assert got[acc] == dt.date.fromisoformat(record.report["updateDate"][:10])
    seqs = dict(rows(db, "SELECT accession, sequence FROM genome_sequences"))
    assert {a: seqs[a] for a in expected} == {a: sequence(r.fasta) for a, r in expected.items()}


def downloaded(world) -> list[str]:
    return sorted(a for d in world.downloads for a in d)


# ---- listing -------------------------------------------------------------------------------
def test_listing_pages_through_the_taxon_with_filter_names(world, ncbi, policy):
    reports = list_reports(taxon=GEMINI, returned_content="ACCESSIONS_ONLY", page_size=5,
                           retry_policy=policy, api_key=KEY)
    raw = read_packages(sorted(WORLD.glob("*.zip")))
    gemini = sorted(a for a, r in raw.items() if world.taxon_matches(GEMINI, r.report))
    assert len(gemini) == 22
    assert [r["accession"] for r in reports] == gemini
    assert ncbi.problems == []
    assert len(ncbi.requests) == 5  # 22 records, 5 per page
    assert [r.values("page_token") for r in ncbi.requests] == [[], ["5"], ["10"], ["15"], ["20"]]
    assert all(r.headers["api-key"] == KEY and KEY not in r.raw_target for r in ncbi.requests)
    assert ncbi.requests[0].raw_target == (
        f"/datasets/v2/virus/taxon/{GEMINI}/dataset_report"
        "?returned_content=ACCESSIONS_ONLY&page_size=5")


def test_listing_filters_are_prefixed_and_applied(world, ncbi, policy):
    reports = list_reports(taxon=GEMINI, complete_only=True, host="3673", refseq_only=False,
                           released_since="2019-01-01", retry_policy=policy)
    # from the raw JSON: Bitter gourd yellow mosaic virus records of host 3673, COMPLETE,
    # released in 2019 or later
    raw = read_packages(sorted(WORLD.glob("*.zip")))
    expected = sorted(
        a for a, r in raw.items()
        if (r.report.get("host") or {}).get("taxId") == 3673
        and r.report.get("completeness") == "COMPLETE" and r.report["releaseDate"] >= "2019")
    assert expected and [r["accession"] for r in reports] == expected
    assert ncbi.requests[0].query == [
        ("filter.released_since", "2019-01-01T00:00:00Z"), ("filter.host", "3673"),
        ("filter.complete_only", "true"), ("returned_content", "COMPLETE"),
        ("page_size", "1000")]


def test_complete_page_gives_the_package_row(world, ncbi, policy):
    """A COMPLETE (snake_case) page read into `genomes` equals the package's own rows."""
    import requests

    from vpkg.sync import report_rows

    reports = list_reports(taxon="Bitter gourd yellow mosaic virus", retry_policy=policy)
    raw = requests.get(ncbi.base_url + ncbi.requests[0].raw_target.removeprefix("/datasets/v2"),
                       timeout=30).json()["reports"]
    assert "update_date" in raw[0] and "updateDate" not in raw[0]  # the wire is snake_case
    listed = report_rows(reports).sort_by("accession")
    package = vpkg.open_package(WORLD / "Bitter_gourd_yellow_mosaic_virus.zip")
    own = package.table("genomes").sort_by("accession")
    assert listed.num_rows == 11
    assert listed.to_pylist() == own.to_pylist()


def test_long_accession_lists_are_listed_by_post(world, ncbi, policy):
    wanted = sorted(world.records)[:3] + [f"ZZ{n:06d}.1" for n in range(200)]
    reports = list_reports(accessions=wanted, retry_policy=policy)
    assert [r["accession"] for r in reports] == sorted(world.records)[:3]
    assert ncbi.requests[0].method == "POST" and ncbi.requests[0].path == "/datasets/v2/virus"
    body = ncbi.requests[0].json
    assert body["filter"]["accessions"] == wanted and body["page_size"] == 1000
    assert ncbi.problems == []


def test_listing_retries_429_503_and_a_cut_connection(world, ncbi, policy, fake_time):
    ncbi.script(status(429, **{"Retry_After": "7"}), status(503), ok(), drop())
    reports = list_reports(taxon=GEMINI, page_size=10, retry_policy=policy)
    assert len(reports) == 22
    assert 7.0 in fake_time.sleeps
    assert len(ncbi.requests) == 3 + 3  # 3 pages, 3 retries


def test_unknown_taxon_is_named(world, ncbi, policy):
    with pytest.raises(DownloadError, match=r"unknown taxon 'Nosuchvirus'\? .*HTTP 400"):
        list_reports(taxon="Nosuchvirus", retry_policy=policy)


def test_bad_listing_parameters(world):
    with pytest.raises(ParameterError, match="page_size"):
        list_reports(taxon=GEMINI, page_size=1001)
    with pytest.raises(ParameterError, match="returned_content"):
        list_reports(taxon=GEMINI, returned_content="SOME")


# ---- download by taxon ----------------------------------------------------------------------
def test_download_by_taxon(world, ncbi, policy, tmp_path):
    dest = vpkg.download(taxon=CIRCO, dest=tmp_path / "c.zip", complete_only=True,
                         retry_policy=policy)
    assert ncbi.requests[0].raw_target == (
        f"/datasets/v2/virus/taxon/{CIRCO}/genome/download"
        "?complete_only=true&include_sequence=GENOME")
    accessions = vpkg.open_package(dest).table("genomes").column("accession").to_pylist()
    raw = read_packages([WORLD / "Army_ant_associated_cyclovirus_2.zip",
                         WORLD / "Bat_associated_circovirus_9.zip"])
    assert sorted(accessions) == sorted(
        a for a, r in raw.items() if r.report.get("completeness") == "COMPLETE")
    with pytest.raises(ParameterError, match="not both"):
        vpkg.download("NC_045512.2", tmp_path / "x.zip", taxon=CIRCO)


def test_download_taxon_on_the_command_line(world, ncbi, tmp_path):
    dest = tmp_path / "g.zip"
    proc = cli("download", "--taxon", GEMINI, "--filename", str(dest), "--no-progressbar",
               env={"VPKG_BASE_URL": ncbi.base_url})
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, f"{dest}\n", "")
    assert ncbi.requests[0].path == f"/datasets/v2/virus/taxon/{GEMINI}/genome/download"
    with zipfile.ZipFile(dest) as z:
        lines = z.read("ncbi_dataset/data/data_report.jsonl").splitlines()
    assert len(lines) == 22


# ---- sync ------------------------------------------------------------------------------------
def test_sync_follows_the_world_run_after_run(world, ncbi, policy, tmp_path):
    db = tmp_path / "wh.duckdb"
    late = world.withdraw("PQ336778.1")  # appears later, with its old updateDate (2024-10-08)
    first = sync(db, policy)
    assert (first.added, first.updated, first.withdrawn, first.unchanged) == (21, 0, 0, 0)
    assert_equals_world(db, world)
    assert len(world.downloads) == 3  # 21 accessions in chunks of 8
    assert ncbi.problems == []

    # nothing changed: nothing downloaded
    world.downloads.clear()
    again = sync(db, policy)
    assert (again.added, again.updated, again.withdrawn, again.unchanged) == (0, 0, 0, 21)
    assert world.downloads == []

    # an update, a version bump, a withdrawal, the late record, an update inside the lag
    # window (dated 3 days before the last run)
    world.update("MH481856.1", day(0), isolate={"name": "changed isolate"})
    bumped = world.bump("FJ944023.1", day(0))
    world.withdraw("HM585445.1")
    world.add(late)
    world.update("NC_015045.1", day(3))
    world.downloads.clear()
    shallow = sync(db, policy, lag_days=1, dry_run=True)
    assert shallow.updated == 1  # a one-day lag misses the update dated 3 days back
    # a withdrawal and a late record cancel out in the scope's count: only a full listing
    # sees both on the day they happen (test_count_check_* covers the default)
    third = sync(db, policy, full_listing_days=0)
    assert third.listed_in_full
    assert (third.added, third.updated, third.withdrawn, third.unchanged) == (2, 2, 2, 17)
    assert downloaded(world) == sorted(["MH481856.1", bumped, "PQ336778.1", "NC_015045.1"])
    assert_equals_world(db, world)
    withdrawn = rows(db, "SELECT accession, withdrawn_on FROM withdrawn_genomes ORDER BY 1")
    today = dt.datetime.now(dt.UTC).date()
    assert withdrawn == [("FJ944023.1", today), ("HM585445.1", today)]
    assert rows(db, "SELECT accession FROM withdrawn_genome_sequences ORDER BY 1") == [
        ("FJ944023.1",), ("HM585445.1",)]
    assert rows(db, "SELECT count(*) FROM genomes WHERE accession = 'FJ944023.1'") == [(0,)]

    # a withdrawn record comes back unchanged: restored, not downloaded
    world.add(World().records["HM585445.1"])
    world.downloads.clear()
    fourth = sync(db, policy)
    assert (fourth.added, fourth.restored, fourth.withdrawn) == (1, 1, 0)
    assert world.downloads == []
    assert_equals_world(db, world)
    assert rows(db, "SELECT accession FROM withdrawn_genomes") == [("FJ944023.1",)]
    assert str(fourth).startswith(f"sync taxon {GEMINI}: 1 added (1 restored), 0 updated, "
                                  "0 withdrawn, 21 unchanged; ")


def test_count_check_lists_in_full_only_when_the_count_says_so(world, ncbi, policy, tmp_path):
    db = tmp_path / "wh.duckdb"
    late = world.withdraw("PQ336778.1")
    assert sync(db, policy).listed_in_full  # a first run lists in full

    quiet = sync(db, policy)  # nothing changed: the count (21) proves it
    assert not quiet.listed_in_full and quiet.unchanged == 21

    # a version bump: the window shows FJ944023.2, so FJ944023.1 is taken as superseded and
    # the count agrees; no full listing
    bumped = world.bump("FJ944023.1", day(0))
    bump = sync(db, policy)
    assert not bump.listed_in_full
    assert (bump.added, bump.withdrawn) == (1, 1)
    assert rows(db, "SELECT accession FROM withdrawn_genomes") == [("FJ944023.1",)]
    assert bumped in {r[0] for r in rows(db, "SELECT accession FROM genomes")}
    assert_equals_world(db, world)

    # a withdrawal outside the window: the count drops, the scope is listed in full
    world.withdraw("HM585445.1")
    gone = sync(db, policy)
    assert gone.listed_in_full and gone.withdrawn == 1
    assert_equals_world(db, world)

    # a record that appears late with an old updateDate: the count rises
    world.add(late)
    came = sync(db, policy)
    assert came.listed_in_full and came.added == 1
    assert_equals_world(db, world)


def test_count_check_blind_spot_is_closed_by_the_next_full_listing(world, ncbi, policy,
                                                                   tmp_path):
    db = tmp_path / "wh.duckdb"
    late = world.withdraw("PQ336778.1")
    sync(db, policy)
    # the same day, one record withdrawn and one appearing late: the count is unchanged
    world.withdraw("HM585445.1")
    world.add(late)
    missed = sync(db, policy)
    assert not missed.listed_in_full
    live = {r[0] for r in rows(db, "SELECT accession FROM genomes")}
    assert "HM585445.1" in live and "PQ336778.1" not in live  # not seen yet
    # a week later, the full listing finds both
    con = duckdb.connect(str(db))
    con.execute("UPDATE sync_scopes SET full_listed_at = full_listed_at - INTERVAL 7 DAY")
    con.close()
    weekly = sync(db, policy)
    assert weekly.listed_in_full and (weekly.added, weekly.withdrawn) == (1, 1)
    assert_equals_world(db, world)
    # --full-listing-days 0 lists in full on every run
    assert sync(db, policy, full_listing_days=0).listed_in_full


def test_a_scope_of_several_taxa_is_always_listed_in_full(world, ncbi, policy, tmp_path):
    db = tmp_path / "wh.duckdb"
    sync(db, policy, taxon=[GEMINI, CIRCO])
    again = sync(db, policy, taxon=[GEMINI, CIRCO])
    assert again.listed_in_full and again.added == 0  # taxa may overlap: counts do not add


def test_scope_never_touches_other_records(world, ncbi, policy, tmp_path):
    db = tmp_path / "wh.duckdb"
    vpkg.load(WORLD.parent / "real" / "Hantavirus_Z10.zip", db, progress=False)
    vpkg.load(WORLD / "Apple_geminivirus_1.zip", db, progress=False)  # in the scope, by hand
    sync(db, policy, taxon=CIRCO)
    first = sync(db, policy)
    assert first.adopted == 2 and "KM386645.1" not in downloaded(world)
    world.withdraw("KM386645.1")  # adopted: never moved
    world.withdraw("NC_015487.1")  # brought in by the sync: moved
    second = sync(db, policy)
    assert second.withdrawn == 2
    assert rows(db, "SELECT accession FROM withdrawn_genomes") == [("NC_015487.1",)]
    hantavirus = read_packages([WORLD.parent / "real" / "Hantavirus_Z10.zip"])
    assert_equals_world(db, world, GEMINI, others=set(hantavirus) | {"KM386645.1"} | set(
        a for a, r in world.records.items() if world.taxon_matches(CIRCO, r.report)))
    circo = {a for a, r in world.records.items() if world.taxon_matches(CIRCO, r.report)}
    assert circo <= {r[0] for r in rows(db, "SELECT accession FROM genomes")}
    assert set(hantavirus) <= {r[0] for r in rows(db, "SELECT accession FROM genomes")}


def test_a_400_mid_run_then_the_next_run_finishes(world, ncbi, policy, tmp_path):
    db = tmp_path / "wh.duckdb"
    # 3 listing pages, 1 page of the (empty) lag window, chunk 1, then chunk 2 refused
    ncbi.script(ok(), ok(), ok(), ok(), ok(), error(400, "Invalid argument provided"))
    with pytest.raises(DownloadError, match=r"chunk 2 of 3 failed: .*HTTP 400.*1 chunk\(s\) "
                       r"are committed; run the same sync again"):
        sync(db, policy)
    first_chunk = world.downloads[0]
    assert sorted(r[0] for r in rows(db, "SELECT accession FROM genomes")) == first_chunk
    assert rows(db, "SELECT cursor FROM sync_scopes") == [(None,)]
    world.downloads.clear()
    second = sync(db, policy)
    assert set(downloaded(world)) & set(first_chunk) == set()
    assert second.added == 22 - 8 and second.unchanged == 8
    assert_equals_world(db, world)


def test_faults_during_a_sync(world, ncbi, policy, tmp_path, fake_time):
    db = tmp_path / "wh.duckdb"
    ncbi.script(status(503), ok(), status(429, **{"Retry_After": "3"}), ok(), drop(), ok(),
                drop())
    result = sync(db, policy)
    assert result.added == 22 and 3.0 in fake_time.sleeps
    assert_equals_world(db, world)


def test_dry_run_downloads_and_writes_nothing(world, ncbi, policy, tmp_path):
    db = tmp_path / "wh.duckdb"
    result = sync(db, policy, dry_run=True)
    assert (result.added, result.chunks) == (22, 3)
    assert world.downloads == [] and not db.exists()
    assert "would download 22 accession(s) in 3 chunk(s), nothing written" in str(result)


def test_an_older_warehouse_is_migrated(world, ncbi, policy, tmp_path):
    db = tmp_path / "old.duckdb"
    vpkg.load(WORLD / "Begomovirus_jeskei.zip", db, progress=False)
    older_layout(db)  # layout 1: no sync tables, genomes a table
    assert rows(db, "SELECT count(*) FROM duckdb_tables() WHERE table_name LIKE 'sync_%'") \
        == [(0,)]
    sync(db, policy)
    assert rows(db, "SELECT value FROM vpkg_warehouse") == [("3",)]
    assert rows(db, "SELECT table_type FROM information_schema.tables "
                    "WHERE table_name = 'genomes'") == [("VIEW",)]
    assert_equals_world(db, world)


def test_a_layout_2_warehouse_without_full_listed_at_lists_in_full_once(world, ncbi, policy,
                                                                         tmp_path):
    db = tmp_path / "wh.duckdb"
    sync(db, policy)
    con = duckdb.connect(str(db))
    con.execute("ALTER TABLE sync_scopes DROP COLUMN full_listed_at")  # as vpkg wrote it before
    con.close()
    assert sync(db, policy, dry_run=True).listed_in_full  # read-only: no column, no error
    assert sync(db, policy).listed_in_full
    assert rows(db, "SELECT full_listed_at IS NOT NULL FROM sync_scopes") == [(True,)]
    assert not sync(db, policy).listed_in_full


# ---- the command line -------------------------------------------------------------------
def cli(*argv, env=None, **kw):
    full = {**os.environ, "NCBI_API_KEY": "", **(env or {})}
    return subprocess.run([sys.executable, "-m", "vpkg", *argv], capture_output=True,
                          text=True, env=full, timeout=120, **kw)


def test_cli_sync_prints_one_summary_line(world, ncbi, tmp_path):
    db = tmp_path / "wh.duckdb"
    proc = cli("sync", "--taxon", CIRCO, "--db", str(db), "--no-progressbar",
               env={"VPKG_BASE_URL": ncbi.base_url})
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert proc.stdout.startswith(f"sync taxon {CIRCO}: 13 added, 0 updated, 0 withdrawn, "
                                  "0 unchanged; ")
    assert proc.stdout.count("\n") == 1


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--taxon", "Nosuchvirus"], "unknown taxon 'Nosuchvirus'?"),
        (["--taxon", GEMINI, "--include", "none,genome"], "'none' cannot be combined"),
        (["--taxon", GEMINI, "--lag-days", "-1"], "lag_days must be a whole number"),
        (["--taxon", GEMINI, "--full-listing-days", "-2"],
         "full_listing_days must be a whole number of at least 0, not -2 (option "
         "--full-listing-days)"),
        (["--taxon", GEMINI, "--usa-state", "XX"], "usa_state: 'XX' is not"),
    ],
)
def test_cli_bad_input_gets_one_line(world, ncbi, tmp_path, argv, message):
    proc = cli("sync", *argv, "--db", str(tmp_path / "w.duckdb"), "--no-progressbar",
               env={"VPKG_BASE_URL": ncbi.base_url})
    assert proc.returncode == 1
    assert list(tmp_path.iterdir()) == []  # no warehouse left behind
    assert proc.stderr.count("\n") == 1 and message in proc.stderr, proc.stderr
    assert proc.stderr.startswith("vpkg sync: error: ")


def test_cli_db_that_is_not_duckdb(world, ncbi, tmp_path):
    bad = tmp_path / "notes.duckdb"
    bad.write_text("not a database\n" * 10)
    proc = cli("sync", "--taxon", GEMINI, "--db", str(bad), env={"VPKG_BASE_URL": ncbi.base_url})
    assert (proc.returncode, proc.stderr) == (
        1, f"vpkg sync: error: db: {bad} is not a DuckDB database file; give a new file name "
        "(it is created) or an existing vpkg warehouse (option --db)\n")
    assert ncbi.requests == []


def test_cli_newer_warehouse(world, ncbi, tmp_path):
    db = tmp_path / "new.duckdb"
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE vpkg_warehouse (key VARCHAR PRIMARY KEY, value VARCHAR)")
    con.execute("INSERT INTO vpkg_warehouse VALUES ('schema_version', '9')")
    con.close()
    proc = cli("sync", "--taxon", GEMINI, "--db", str(db), env={"VPKG_BASE_URL": ncbi.base_url})
    assert proc.returncode == 1
    assert "written by a newer vpkg (layout version 9" in proc.stderr
    assert proc.stderr.count("\n") == 1


def test_cli_download_with_two_taxa_and_no_accessions(world, ncbi, tmp_path):
    proc = cli("download", "--taxon", GEMINI, "--taxon", CIRCO,
               env={"VPKG_BASE_URL": ncbi.base_url}, cwd=tmp_path)
    assert proc.returncode == 1
    assert "a taxon download takes one --taxon" in proc.stderr
    assert proc.stderr.count("\n") == 1


def test_killed_between_two_chunks(world, ncbi, policy, tmp_path):
    """SIGKILL while the second chunk is being served; the next run downloads the rest."""
    db = tmp_path / "wh.duckdb"
    second = threading.Event()
    release = threading.Event()

    def hold(accessions):
        if len(world.downloads) == 1:
            second.set()
            release.wait(30)

    world.before_download = hold
    proc = subprocess.Popen(
        [sys.executable, "-m", "vpkg", "sync", "--taxon", GEMINI, "--db", str(db),
         "--chunk-size", "8", "--no-progressbar"],
        env={**os.environ, "VPKG_BASE_URL": ncbi.base_url, "NCBI_API_KEY": ""},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert second.wait(60)
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    finally:
        release.set()
        world.before_download = None
    first_chunk = world.downloads[0]
    assert sorted(r[0] for r in rows(db, "SELECT accession FROM genomes")) == first_chunk
    assert rows(db, "SELECT count(*) FROM sync_pending") == [(22 - 8,)]
    world.downloads.clear()
    result = sync(db, policy)
    assert set(downloaded(world)) == set(world.records) - set(first_chunk) - {
        a for a, r in world.records.items() if world.taxon_matches(CIRCO, r.report)}
    assert result.added == 14
    assert_equals_world(db, world)


def test_a_listing_that_changes_while_paging_changes_nothing(world, ncbi, policy, tmp_path):
    db = tmp_path / "wh.duckdb"
    sync(db, policy)
    served = world.page

    def page(taxon, accessions, filters, params):
        answer = served(taxon, accessions, filters, params)
        if not filters.get("updated_since"):  # the full listing
            world.records.pop("NC_015045.1", None)  # gone after its first page was served
        return answer

    world.page = page
    with pytest.raises(DownloadError, match="changed while paging"):
        sync(db, policy, full_listing_days=0)
    assert rows(db, "SELECT count(*) FROM withdrawn_genomes") == [(0,)]
    assert rows(db, "SELECT count(*) FROM genomes WHERE accession = 'NC_015045.1'") == [(1,)]


def test_docs_quick_start_runs(world, ncbi, tmp_path):
    """The commands of docs/sync.md's quick start, run as written, print what it shows."""
    import shlex

    page = (WORLD.parent.parent / "docs" / "sync.md").read_text(encoding="utf-8")
    quick = page.split("## Quick start", 1)[1]
    commands = re.search(r"```sh\n(.*?)```", quick, re.S).group(1).strip().splitlines()
    shown = re.search(r"Each run prints one line:\n\n```\n(.*?)\n```", quick, re.S).group(1)
    outputs = []
    for command in commands:
        argv = shlex.split(command)
        argv = [sys.executable, "-m", "vpkg", *argv[1:]] if argv[0] == "vpkg" else \
            [sys.executable, *argv[1:]]
        proc = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=120,
                              env={**os.environ, "VPKG_BASE_URL": ncbi.base_url,
                                   "NCBI_API_KEY": ""})
        assert proc.returncode == 0, proc.stderr
        outputs.append(proc.stdout)
    assert outputs[0] == shown + "\n"
    assert "0 would be added" in outputs[1] and "nothing written" in outputs[1]
    assert outputs[2] == "[(22,)]\n"


def test_listing_counts_the_bytes_received_compressed_or_not(world, ncbi, policy):
    from vpkg.fetch.listing import ListingStats, iter_reports, make_query
    from vpkg.fetch.session import Client

    counts = {}
    for gzipped in (False, True):
        world.gzip = gzipped
        stats = ListingStats()
        client = Client(ncbi.base_url, None, policy)
        before = len(ncbi.requests)
        query = make_query(GEMINI, page_size=10)
        records = list(iter_reports(client, query, stats))
        client.close()
        assert len(records) == 22 and stats.requests == 3
        assert stats.bytes == sum(r.sent for r in ncbi.requests[before:])
        counts[gzipped] = stats.bytes
    assert counts[True] < counts[False] / 3  # the world's JSON, gzip-encoded


def test_an_interrupted_update_run_resumes_without_downloading_again(world, ncbi, policy,
                                                                     tmp_path):
    db = tmp_path / "wh.duckdb"
    sync(db, policy)
    changed = sorted(a for a in world.records if world.taxon_matches(GEMINI,
                                                                     world.records[a].report))[:12]
    for acc in changed:
        world.update(acc, day(0), isolate={"name": "resequenced"})
    world.downloads.clear()
    # 2 pages of the window (12 records), 1 of the records since the cursor (none: dated
    # today, before the last run's start), the count of the taxon (it matches: no full
    # listing), chunk 1; chunk 2 refused
    ncbi.script(*[ok()] * 5, error(400, "Invalid argument provided"))
    with pytest.raises(DownloadError, match="chunk 2 of 2 failed"):
        sync(db, policy)
    first_chunk = world.downloads[0]
    assert len(first_chunk) == 8 and set(first_chunk) <= set(changed)
    world.downloads.clear()
    resumed = sync(db, policy)
    assert downloaded(world) == sorted(set(changed) - set(first_chunk))
    assert resumed.updated == 4
    assert_equals_world(db, world)


@pytest.mark.parametrize("module", ["vpkg.fetch.listing", "vpkg.sinks.syncstate", "vpkg.sync"])
def test_docstring_examples_run(module):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0 and result.failed == 0


def test_vpkg_sync_stays_callable_after_importing_the_module(tmp_path):
    import importlib

    importlib.import_module("vpkg.sync")  # binds the module to vpkg.sync
    import vpkg as package

    with pytest.raises(ParameterError, match="taxon: give one or more"):
        package.sync(tmp_path / "x.duckdb", taxon=[])


def test_withdraw_and_restore_move_the_rows_of_every_table(tmp_path):
    """On the constructed package with every member: MT745738.1 has 12 CDS (its cds.fna
    headers) and 38 proteins (12 CDS + 26 mature peptides, fixtures/README.md) and one
    BioSample of its own."""
    from conftest import CONSTRUCTED

    from vpkg.sinks.syncstate import prepare, restore, withdraw
    from vpkg.tables import TABLES

    package = CONSTRUCTED / "sars-cov-2_all_members.constructed.zip"
    with zipfile.ZipFile(package) as z:
        cds = z.read("ncbi_dataset/data/cds.fna").count(b"\n>MT745738.1:") + 0
        first = z.read("ncbi_dataset/data/cds.fna").startswith(b">MT745738.1:")
    db = tmp_path / "wh.duckdb"
    vpkg.load(package, db, progress=False)
    con = duckdb.connect(str(db))
    prepare(con)
    before = {t: con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in TABLES}
    con.begin()
    assert withdraw(con, ["MT745738.1"], dt.date(2026, 1, 2)) == 1
    con.commit()
    moved = {t: con.execute(f"SELECT count(*), min(withdrawn_on) FROM withdrawn_{t}").fetchall()
             for t in TABLES}
    day2 = dt.date(2026, 1, 2)
    assert moved == {
        "genomes": [(1, day2)], "genome_sequences": [(1, day2)],
        "cds_sequences": [(cds + first, day2)], "annotations": [(12, day2)],
        "protein_sequences": [(38, day2)], "biosamples": [(1, day2)]}
    assert cds + first == 12
    assert con.execute("SELECT count(*) FROM genomes").fetchall() == [(4,)]
    con.begin()
    assert restore(con, ["MT745738.1"]) == 1
    con.commit()
    after = {t: con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in TABLES}
    assert after == before
    assert all(con.execute(f"SELECT count(*) FROM withdrawn_{t}").fetchall() == [(0,)]
               for t in TABLES)
    con.close()


def test_progress_bars_for_listing_and_download(world, ncbi, policy, tmp_path, capsys):
    sync(tmp_path / "wh.duckdb", policy, progress=True)
    err = capsys.readouterr().err
    assert f"listing {GEMINI}" in err and "records" in err
    assert ".wh.duckdb.sync1of3." in err  # the download bar of chunk 1


def test_a_record_another_scope_still_lists_stays(world, ncbi, policy, tmp_path):
    db = tmp_path / "wh.duckdb"
    gemini = [r.report for r in world.records.values() if world.taxon_matches(GEMINI, r.report)]
    partial = sum(r.get("completeness") != "COMPLETE" for r in gemini)  # 5 in the raw JSON
    complete = sync(db, policy, complete_only=True)
    everything = sync(db, policy)
    assert (complete.added, partial) == (22 - partial, 5)
    # the second scope adopts the first one's records (same rows) and downloads the rest
    assert (everything.added, everything.adopted) == (22, 22 - partial)
    assert len(world.downloads[-1]) == partial
    world.update("NC_015045.1", day(0), completeness="PARTIAL")  # leaves the first scope only
    left = sync(db, policy, complete_only=True)
    assert left.withdrawn == 1
    assert rows(db, "SELECT count(*) FROM withdrawn_genomes") == [(0,)]  # still listed
    sync(db, policy)
    assert_equals_world(db, world)
    assert rows(db, "SELECT completeness FROM genomes WHERE accession = 'NC_015045.1'") == [
        ("PARTIAL",)]
    world.withdraw("NC_015045.1")  # now gone from NCBI: the scope that still held it moves it
    assert sync(db, policy).withdrawn == 1
    assert rows(db, "SELECT accession FROM withdrawn_genomes") == [("NC_015045.1",)]
    assert_equals_world(db, world)


def test_the_cost_benchmark_runs_on_a_small_world():
    """benchmarks/sync_cost.py end to end on 400 records: the sync downloads only the
    changed records (2 per day at 0.5%), and its table is printed (no timing checked)."""
    bench = WORLD.parent.parent / "benchmarks" / "sync_cost.py"
    proc = subprocess.run([sys.executable, str(bench), "--records", "400", "--target", "4000"],
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "NCBI_API_KEY": ""})
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "0 added, 2 updated, 0 withdrawn, 398 unchanged" in out
    assert "| daily sync | " in out and "| full re-download | 1 | " in out
    assert re.search(r"sync / full bytes: \d+\.\d\d%", out)


def test_withdrawn_tables_with_other_columns_get_one_line(world, ncbi, policy, tmp_path):
    db = tmp_path / "wh.duckdb"
    sync(db, policy)
    con = duckdb.connect(str(db))
    con.execute("ALTER TABLE withdrawn_genomes DROP COLUMN withdrawn_on")
    con.close()
    with pytest.raises(ParameterError, match="table withdrawn_genomes does not have the "
                       "columns of genomes plus withdrawn_on"):
        sync(db, policy)
