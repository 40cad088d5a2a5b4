"""Messages a new user meets: `vpkg info` without md5sum.txt or with a member missing, its
content summary, and a zstd level out of range. Each runs the real command in a subprocess.
"""

from __future__ import annotations

import calendar
import collections
import json
import subprocess
import sys

import pytest
from conftest import CONSTRUCTED, FIXTURES, build_zip, zip_members

import vpkg

ALL = CONSTRUCTED / "sars-cov-2_all_members.constructed.zip"
DATA = "ncbi_dataset/data"


def vpkg_cli(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vpkg", *map(str, argv)],
                          capture_output=True, text=True, timeout=300)


def test_info_without_md5sum_and_with_a_listed_member_missing(tmp_path):
    members = zip_members(ALL)
    members.pop("md5sum.txt")
    members.pop(f"{DATA}/cds.fna")  # the catalog still lists it
    assert b'"cds.fna"' in members[f"{DATA}/dataset_catalog.json"]
    done = vpkg_cli("info", build_zip(tmp_path / "p.zip", members))
    assert done.returncode == 0
    assert "0 md5" not in done.stdout
    assert "no md5sum.txt in the package" in done.stdout
    warning = (f"dataset_catalog.json lists {DATA}/cds.fna, which the package lacks; the "
               "package is incomplete")
    assert f"warning     {warning}" in done.stdout
    assert done.stderr.startswith(f"vpkg info: warning: {warning}")
    assert done.stderr.count("\n") == 1


def test_info_counts_md5_when_there_is_md5sum():
    done = vpkg_cli("info", ALL)
    listed = len(zip_members(ALL)["md5sum.txt"].splitlines())
    assert f"{listed} md5 from md5sum.txt match" in done.stdout
    assert "warning" not in done.stdout and done.stderr == ""


def span(text: str) -> tuple[str, str]:
    """First and last day of `YYYY`, `YYYY-MM` or `YYYY-MM-DD`, as ISO text."""
    parts = text.split("-")
    if len(parts) == 1:
        return f"{text}-01-01", f"{text}-12-31"
    if len(parts) == 2:
        last = calendar.monthrange(int(parts[0]), int(parts[1]))[1]
        return f"{text}-01", f"{text}-{last:02d}"
    return text, text


def expected_lines(path) -> dict[str, str]:
    """The content lines of `vpkg info`, computed from the raw JSON of the report."""
    raw = zip_members(path)[f"{DATA}/data_report.jsonl"]
    records = [json.loads(line) for line in raw.splitlines() if line.strip()]

    def names(values):
        counts = sorted(collections.Counter(v for v in values if v).items(),
                        key=lambda p: (-p[1], p[0]))
        shown = ", ".join(f"{n} ({c:,})" for n, c in counts[:3])
        more = f" and {len(counts) - 3:,} more" if len(counts) > 3 else ""
        return f"{len(counts):,}: {shown}{more}" if counts else "none given"

    dates = [r["isolate"]["collectionDate"] for r in records
             if r.get("isolate", {}).get("collectionDate")]
    first = min(span(d)[0] for d in dates)
    last = max(span(d)[1] for d in dates)
    released = sorted(r["releaseDate"][:10] for r in records)
    return {
        "viruses": names(r["virus"]["organismName"] for r in records),
        "hosts": names(r.get("host", {}).get("organismName") for r in records),
        "countries": names(r.get("location", {}).get("geographicLocation", "").split(":")[0]
                           for r in records),
        "collected": f"{first} to {last} (no date: {len(records) - len(dates)})",
        "released": f"{released[0]} to {released[-1]}",
    }


@pytest.mark.parametrize("name", ["Rotavirus_J.zip", "Huangpi_Tick_Virus_2.zip"])
def test_info_content_summary(name):
    path = FIXTURES / "real" / name
    done = vpkg_cli("info", path)
    assert done.returncode == 0
    got = {ln.split()[0]: ln.split(None, 1)[1] for ln in done.stdout.splitlines()
           if ln.split() and ln.split()[0] in ("viruses", "hosts", "countries", "collected",
                                                "released")}
    assert got == expected_lines(path)


@pytest.mark.parametrize("level", ["99", "0", "-3"])
def test_compression_level_out_of_range(level, tmp_path):
    done = vpkg_cli("export", ALL, "-o", tmp_path / "out", "--compression-level", level)
    assert done.returncode == 1
    assert done.stderr == (f"vpkg export: error: --compression-level: compression level "
                           f"{level}: zstd levels are 1 to 22 (1 fastest, 22 smallest); "
                           "give one of those\n")
    assert not (tmp_path / "out").exists()


def test_compression_level_in_the_api(tmp_path):
    pkg = vpkg.open_package(ALL)
    with pytest.raises(vpkg.ParameterError, match="zstd levels are 1 to 22") as info:
        pkg.to_parquet(tmp_path / "out", compression_level=23)
    assert info.value.parameter == "compression_level"
    assert [d.rows for d in pkg.to_parquet(tmp_path / "ok", compression_level=22,
                                           tables=["genomes"])] == [5]


def test_warehouse_stores_sequences_with_zstd(tmp_path):
    """The storage settings behind benchmarks/warehouse_size.py (sizes are measured there)."""
    import duckdb

    db = tmp_path / "wh.duckdb"
    done = vpkg_cli("load", FIXTURES / "real" / "Rotavirus_J.zip", "--db", db)
    assert done.returncode == 0, done.stderr
    con = duckdb.connect(str(db), read_only=True)
    methods = {r[0] for r in con.sql(
        "SELECT compression FROM pragma_storage_info('genome_sequences') "
        "WHERE column_name = 'sequence' AND segment_type = 'VARCHAR'").fetchall()}
    assert methods == {"ZSTD"}
    assert con.sql("SELECT block_size FROM pragma_database_size()").fetchall() == [(65536,)]
    lengths = con.sql("SELECT sum(length(sequence)) FROM genome_sequences").fetchall()
    fasta = zip_members(FIXTURES / "real" / "Rotavirus_J.zip")[f"{DATA}/genomic.fna"]
    letters = sum(len(ln) for ln in fasta.splitlines() if not ln.startswith(b">"))
    assert lengths == [(letters,)]
