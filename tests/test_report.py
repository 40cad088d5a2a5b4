"""`vpkg report` without a browser: the page's figures, tables and chart data against the raw
members of real packages, the inputs it accepts, and its errors (see test_report_browser.py
for the page drawn in Chromium)."""

from __future__ import annotations

import subprocess
import sys
import zipfile

import duckdb
import pytest
from conftest import CONSTRUCTED, REAL
from report_helpers import (
    EMPTY,
    GENOMIC,
    REPORT,
    expected_header,
    parse_page,
    raw_records,
    without_member,
)

import vpkg
from vpkg.errors import VpkgError

CHARTS = ["collection-years", "release-years", "release-lag", "countries", "hosts", "lengths",
          "shares"]
ROTA = next(p for p in REAL if p.name == "Rotavirus_J.zip")
HANTA = next(p for p in REAL if p.name == "Hantavirus_Z10.zip")


def report(tmp_path, *paths, name="r.html"):
    out = tmp_path / name
    with vpkg.open_package(paths[0]) as pkg:
        if len(paths) == 1:
            pkg.report(out)
            return parse_page(out)
    from contextlib import ExitStack

    from vpkg.sinks.report import write_report

    with ExitStack() as stack:
        write_report([stack.enter_context(vpkg.open_package(p)).report_input() for p in paths],
                     out)
    return parse_page(out)


def no_data(spec) -> bool:
    return spec.get("usermeta", {}).get("vpkg") == "no data"


def test_header_matches_sql_on_the_raw_report(real_zip, tmp_path):
    page = report(tmp_path, real_zip)
    expected = expected_header([real_zip])
    assert {k: page.figures[k] for k in expected} == expected
    assert page.figures["verified"] == "yes"
    files = [i for i in zipfile.ZipFile(real_zip).infolist() if not i.is_dir()]
    assert page.figures["members"] == str(len(files))
    assert page.chart_ids == CHARTS


def test_header_of_two_packages_counts_each_accession_once(tmp_path):
    page = report(tmp_path, ROTA, HANTA, ROTA)
    expected = expected_header([ROTA, HANTA])
    assert expected["genomes"] == "41"  # 32 + 9, the second Rotavirus_J adds nothing
    assert {k: page.figures[k] for k in expected} == expected


def test_collection_years_by_completeness(tmp_path):
    page = report(tmp_path, ROTA)
    counts: dict[tuple[int, str], int] = {}
    for r in raw_records(ROTA):
        key = (int(r["isolate"]["collectionDate"][:4]), r["completeness"])
        counts[key] = counts.get(key, 0) + 1
    values = page.specs["collection-years"]["data"]["values"]
    assert {(v["year"], v["completeness"]): v["genomes"] for v in values} == counts
    assert counts[(2014, "COMPLETE")] == 11


def test_top_countries_and_hosts(tmp_path):
    page = report(tmp_path, ROTA)
    records = raw_records(ROTA)
    for chart, get in [
        ("countries", lambda r: r.get("location", {}).get("geographicLocation", "")
         .split(":")[0].strip()),
        ("hosts", lambda r: r.get("host", {}).get("organismName", "")),
    ]:
        expected: dict[str, int] = {}
        for r in records:
            if get(r):
                expected[get(r)] = expected.get(get(r), 0) + 1
        values = page.specs[chart]["data"]["values"]
        assert {v["name"]: v["genomes"] for v in values} == expected
        assert [v["genomes"] for v in values] == sorted(expected.values(), reverse=True)


def test_top_keeps_fifteen_and_sums_the_rest_as_other(tmp_path):
    from vpkg.sinks.report.data import TOP

    lines = [ln for ln in zipfile.ZipFile(ROTA).read(REPORT).decode().splitlines() if ln]
    import json

    records = []
    for i in range(TOP + 5):  # 20 countries, country i holding i + 1 genomes
        for j in range(i + 1):
            r = json.loads(lines[0])
            r["accession"] = f"X{i:02d}_{j:02d}.1"
            r["location"] = {"geographicLocation": f"Land{i:02d}: somewhere"}
            records.append(json.dumps(r))
    path = tmp_path / "many.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(REPORT, "\n".join(records) + "\n")
    values = report(tmp_path, path).specs["countries"]["data"]["values"]
    assert len(values) == TOP + 1
    assert values[0] == {"name": "Land19", "genomes": 20, "rank": 0}
    assert values[-1]["name"] == "other"
    assert values[-1]["genomes"] == 1 + 2 + 3 + 4 + 5  # Land00..Land04


def test_release_lag_bins_hold_every_dated_genome(tmp_path):
    import datetime as dt

    page = report(tmp_path, ROTA)
    lags = []
    for r in raw_records(ROTA):
        day = r["isolate"].get("collectionDate", "")
        if len(day) == 10:
            lags.append((dt.date.fromisoformat(r["releaseDate"][:10])
                         - dt.date.fromisoformat(day)).days)
    values = page.specs["release-lag"]["data"]["values"]
    assert sum(v["genomes"] for v in values) == len(lags) == 32
    for v in values:
        inside = [x for x in lags if v["lag_start"] <= x < v["lag_end"]]
        assert len(inside) == v["genomes"]


def test_lengths_per_segment(tmp_path):
    page = report(tmp_path, next(p for p in REAL if p.name.startswith("sars-cov-2")))
    spec = page.specs["lengths"]
    assert spec["facet"]["field"] == "segment"
    (value,) = spec["data"]["values"]
    raw = raw_records(next(p for p in REAL if p.name.startswith("sars-cov-2")))[0]
    assert value["segment"] == f"segment {raw['segment']}"
    assert value["length_start"] <= raw["length"] < value["length_end"]


def test_lengths_without_segments_cover_every_length(tmp_path):
    page = report(tmp_path, ROTA)
    spec = page.specs["lengths"]
    assert "facet" not in spec
    lengths = [r["length"] for r in raw_records(ROTA)]
    values = spec["data"]["values"]
    assert values[0]["length_start"] == min(lengths)
    assert max(lengths) < values[-1]["length_end"]
    assert sum(v["genomes"] for v in values) == len(lengths)


def test_shares(tmp_path):
    page = report(tmp_path, HANTA)
    records = raw_records(HANTA)
    expected = {
        "complete": sum(r["completeness"] == "COMPLETE" for r in records),
        "RefSeq": sum(r.get("sourceDatabase") == "RefSeq" for r in records),
        "annotated": sum(bool(r.get("isAnnotated")) for r in records),
        "lab host": sum(bool(r.get("isLabHost")) for r in records),
        "vaccine strain": sum(bool(r.get("isVaccineStrain")) for r in records),
    }
    assert expected["vaccine strain"] > 0  # the fixture has isVaccineStrain
    values = page.specs["shares"]["data"]["values"]
    assert {v["share"]: v["genomes"] for v in values} == expected
    assert all(v["total"] == len(records) for v in values)


def test_quality_table(real_zip, tmp_path):
    page = report(tmp_path, real_zip)
    records = raw_records(real_zip)
    n = len(records)

    def row(count):
        return [f"{count:,}", f"of {n:,}", f"{100 * count / n:.1f}%"]

    assert page.quality["genomes without a collection date"] == row(
        sum(not r.get("isolate", {}).get("collectionDate") for r in records))
    assert page.quality["genomes without a host"] == row(
        sum(not r.get("host", {}).get("organismName") for r in records))
    assert page.quality["genomes without a location"] == row(
        sum(not r.get("location", {}).get("geographicLocation") for r in records))
    assert page.quality["genomes without a BioSample"] == row(
        sum(not r.get("biosample") for r in records))
    assert page.quality["report accessions without a sequence"] == row(0)


def test_quality_counts_accessions_found_on_one_side_only(tmp_path):
    members = {}
    with zipfile.ZipFile(ROTA) as zf:
        for name in zf.namelist():
            members[name] = zf.read(name)
    fasta = members[GENOMIC].decode()
    records = fasta.split(">")[1:]
    kept = ">" + ">".join(records[3:])  # 3 reports lose their sequence
    extra = ">ZZ000001.1 not in the report\nACGT\n"
    members[GENOMIC] = (kept + extra).encode()
    path = tmp_path / "mismatch.zip"
    with zipfile.ZipFile(path, "w") as out:
        for name, content in members.items():
            if name != "md5sum.txt":
                out.writestr(name, content)
    page = report(tmp_path, path)
    assert page.quality["report accessions without a sequence"] == ["3", "of 32", "9.4%"]
    assert page.quality["sequences without a report record"] == ["1", "of 30", "3.3%"]


def test_empty_package_every_chart_says_no_data(tmp_path):
    page = report(tmp_path, EMPTY)
    assert page.chart_ids == CHARTS
    for chart in CHARTS:
        spec = page.specs[chart]
        assert no_data(spec), chart
        assert spec["data"]["values"][0]["text"].startswith("no data")
    assert page.figures["genomes"] == "0"
    assert page.figures["collection"] == "none given"


def test_package_without_a_report_still_shows_lengths(tmp_path):
    path = without_member(ROTA, REPORT, tmp_path / "no_report.zip")
    page = report(tmp_path, path)
    assert page.figures["genomes"] == "0"
    assert page.figures["sequences"] == "32"
    assert page.figures["verified"] == "yes"
    assert not no_data(page.specs["lengths"])
    lengths = []
    for block in zipfile.ZipFile(ROTA).read(GENOMIC).decode().split(">")[1:]:
        lengths.append(len("".join(block.splitlines()[1:])))
    assert sum(v["genomes"] for v in page.specs["lengths"]["data"]["values"]) == len(lengths)
    assert page.specs["lengths"]["data"]["values"][0]["length_start"] == min(lengths)
    for chart in CHARTS:
        if chart != "lengths":
            assert no_data(page.specs[chart]), chart
            assert "no data report" in page.specs[chart]["data"]["values"][0]["text"]


def test_package_without_sequences_gets_every_report_chart(tmp_path):
    path = without_member(ROTA, GENOMIC, tmp_path / "no_fasta.zip")
    page = report(tmp_path, path)
    assert page.figures["genomes"] == "32"
    assert page.figures["sequences"] == "0"
    assert [c for c in CHARTS if no_data(page.specs[c])] == []
    assert "report accessions without a sequence" not in page.quality


def test_warehouse_report(tmp_path):
    db = tmp_path / "wh.duckdb"
    results = vpkg.load([ROTA, HANTA], db)
    from vpkg.sinks.report import write_report

    out = tmp_path / "wh.html"
    write_report(db, out)
    page = parse_page(out)
    expected = expected_header([ROTA, HANTA])
    assert {k: page.figures[k] for k in expected} == expected
    assert page.figures["verified"] == "n/a"
    assert page.figures["members"] == "8"  # six tables, packages and vpkg_warehouse
    assert page.chart_ids == [*CHARTS, "loads", "sync-runs"]
    loads = page.specs["loads"]["data"]["values"]
    assert [v["genomes"] for v in loads if v["kind"] == "new"] == [
        r.genomes_new for r in results] == [32, 9]
    assert no_data(page.specs["sync-runs"])


def test_warehouse_with_a_table_of_sync_runs(tmp_path):
    db = tmp_path / "wh.duckdb"
    vpkg.load([HANTA], db)
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE sync_runs (run_id INTEGER, started_at TIMESTAMP, "
                "added BIGINT, updated BIGINT, withdrawn BIGINT, unchanged BIGINT)")
    con.execute("INSERT INTO sync_runs VALUES (2, '2026-02-01 03:00', 4, 2, 1, 90), "
                "(1, '2026-01-01 03:00', 95, 0, 0, 0)")
    con.close()
    from vpkg.sinks.report import write_report

    out = tmp_path / "wh.html"
    write_report(db, out)
    values = parse_page(out).specs["sync-runs"]["data"]["values"]
    got = {(v["run"], v["kind"]): v["genomes"] for v in values}
    assert got == {(1, "added"): 95, (1, "updated"): 0, (1, "withdrawn"): 0,
                   (2, "added"): 4, (2, "updated"): 2, (2, "withdrawn"): 1}


def test_page_is_self_contained_and_small(tmp_path):
    page_path = tmp_path / "r.html"
    vpkg.open_package(ROTA).report(page_path)
    page = parse_page(page_path)
    assert page.refs == []  # no src=, href= or <link>: nothing to fetch
    assert len(page.scripts) == 2 and "vegaEmbed" in page.scripts[0]
    assert page_path.stat().st_size < 5_000_000
    text = page_path.read_text()
    assert "default-src 'none'" in text  # the page's policy forbids every request


def test_cli_report(tmp_path):
    out = tmp_path / "r.html"
    child = subprocess.run(
        [sys.executable, "-m", "vpkg", "report", str(ROTA), str(HANTA), "-o", str(out)],
        capture_output=True, text=True)
    assert child.returncode == 0, child.stderr
    assert "7 charts, 41 genomes" in child.stdout
    assert parse_page(out).figures["genomes"] == "41"


def test_cli_report_of_a_warehouse_with_a_package_is_refused(tmp_path):
    db = tmp_path / "wh.duckdb"
    vpkg.load([HANTA], db)
    child = subprocess.run(
        [sys.executable, "-m", "vpkg", "report", str(db), str(ROTA), "-o", str(tmp_path / "x")],
        capture_output=True, text=True)
    assert child.returncode == 1
    assert child.stderr.count("\n") == 1 and "is a warehouse" in child.stderr
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("case", ["missing folder", "output is a folder", "damaged member"])
def test_cli_errors_leave_nothing_behind(tmp_path, case):
    source = ROTA
    out = tmp_path / "r.html"
    if case == "missing folder":
        out = tmp_path / "nope" / "r.html"
    elif case == "output is a folder":
        out = tmp_path / "r.html"
        out.mkdir()
    else:
        members = {n: zipfile.ZipFile(ROTA).read(n) for n in zipfile.ZipFile(ROTA).namelist()}
        members[REPORT] = members[REPORT][:500] + b"\n{not json\n"
        source = tmp_path / "bad.zip"
        with zipfile.ZipFile(source, "w") as zf:
            for name, content in members.items():
                zf.writestr(name, content)
    child = subprocess.run(
        [sys.executable, "-m", "vpkg", "report", str(source), "-o", str(out), "--no-verify"],
        capture_output=True, text=True)
    assert child.returncode == 1
    assert child.stderr.count("\n") == 1 and "Traceback" not in child.stderr
    expected = {"missing folder": "does not exist", "output is a folder": "is a folder",
                "damaged member": "data_report.jsonl"}[case]
    assert expected in child.stderr
    left = [p.name for p in tmp_path.iterdir() if p.name != "bad.zip"]
    assert left == (["r.html"] if case == "output is a folder" else [])


def test_report_of_nothing_is_refused(tmp_path):
    from vpkg.sinks.report import write_report

    with pytest.raises(VpkgError, match="no package"):
        write_report([], tmp_path / "r.html")


def test_all_members_package(tmp_path):
    path = CONSTRUCTED / "sars-cov-2_all_members.constructed.zip"
    page = report(tmp_path, path)
    assert page.figures == {**page.figures, **expected_header([path])}


def test_docs_report_examples_run(tmp_path):
    """Every command and the Python block of docs/report.md, run as written."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    (tmp_path / "fixtures").symlink_to(root / "fixtures")
    text = (root / "docs" / "report.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```(sh|python)\n(.*?)```", text, re.S)
    commands = [ln for kind, body in blocks if kind == "sh" for ln in body.splitlines() if ln]
    assert len(commands) == 4
    for line in commands:
        assert line.startswith("vpkg ")
        child = subprocess.run([sys.executable, "-m", "vpkg", *line.split()[1:]], cwd=tmp_path,
                               capture_output=True, text=True)
        assert child.returncode == 0, (line, child.stderr)
    (code,) = [body for kind, body in blocks if kind == "python"]
    subprocess.run([sys.executable, "-c", code], cwd=tmp_path, check=True)
    for name in ("report.html", "both.html", "warehouse.html"):
        page = parse_page(tmp_path / name)
        assert page.figures["genomes"] == {"both.html": "41"}.get(name, "32")


@pytest.mark.parametrize("module", ["vpkg.sinks.report", "vpkg.sinks.report.data",
                                    "vpkg.sinks.report.charts", "vpkg.sinks.report.page"])
def test_report_docstring_examples_run(module, monkeypatch, tmp_path):
    import doctest
    import importlib
    from pathlib import Path

    monkeypatch.chdir(Path(__file__).resolve().parent.parent)
    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0 and result.failed == 0


def test_unverified_and_damaged_packages_say_so(tmp_path):
    out = tmp_path / "r.html"
    vpkg.open_package(HANTA).report(out, verify=False)
    assert parse_page(out).figures["verified"] == "not checked"
    members = {n: zipfile.ZipFile(HANTA).read(n) for n in zipfile.ZipFile(HANTA).namelist()}
    members["ncbi_dataset/data/virus_dataset.md"] += b"changed"  # md5sum.txt no longer matches
    damaged = tmp_path / "damaged.zip"
    with zipfile.ZipFile(damaged, "w") as zf:
        for name, content in members.items():
            zf.writestr(name, content)
    vpkg.open_package(damaged).report(out)
    page = parse_page(out)
    assert page.figures["verified"] == "FAILED"
    assert "virus_dataset.md has md5" in out.read_text()
    assert page.figures["genomes"] == "9"  # the report is still made


def test_a_member_the_report_reads_is_checked_by_that_read(tmp_path, monkeypatch):
    """The sequences the report reads are hashed as read: one base changed (the zip's CRC
    written for it, so only md5sum.txt disagrees) fails the check, and no member the
    report read is read a second time to verify it."""
    from vpkg.container import integrity

    members = {n: zipfile.ZipFile(HANTA).read(n) for n in zipfile.ZipFile(HANTA).namelist()}
    fasta = "ncbi_dataset/data/genomic.fna"
    header, _, body = members[fasta].partition(b"\n")
    members[fasta] = header + b"\n" + (b"C" if body[:1] != b"C" else b"G") + body[1:]
    damaged = tmp_path / "damaged.zip"
    with zipfile.ZipFile(damaged, "w") as zf:
        for name, content in members.items():
            zf.writestr(name, content)
    hashed_again = []
    original = integrity.member_md5
    monkeypatch.setattr(integrity, "member_md5",
                        lambda c, m: hashed_again.append(m) or original(c, m))
    out = tmp_path / "r.html"
    vpkg.open_package(damaged).report(out)
    assert parse_page(out).figures["verified"] == "FAILED"
    assert "genomic.fna has md5" in out.read_text()
    assert fasta not in hashed_again and "ncbi_dataset/data/data_report.jsonl" not in hashed_again
