"""A partitioned export reads as one table in pandas, polars, pyarrow and DuckDB, each with
its plain call, null partitions included.

Hive folders (``year=__HIVE_DEFAULT_PARTITION__``) made ``pd.read_parquet`` fail with
"Cannot yet unify dictionaries with nulls", and an all-null export failed in pyarrow too.
The expected rows come from the raw JSON of the package.
"""

from __future__ import annotations

import json
import subprocess
import sys

import duckdb
import pandas as pd
import polars as pl
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from conftest import CONSTRUCTED, FIXTURES, build_zip, zip_members

DATA = "ncbi_dataset/data"
ALL = CONSTRUCTED / "sars-cov-2_all_members.constructed.zip"
#: every genome of this real package is undated: an all-null partition column
UNDATED = FIXTURES / "real" / "Hantavirus_Z10.zip"


def mixed_package(tmp_path):
    """The constructed package with the collection date of its first genome removed."""
    members = zip_members(ALL)
    members.pop("md5sum.txt")
    lines = [json.loads(ln) for ln in members[f"{DATA}/data_report.jsonl"].splitlines()]
    del lines[0]["isolate"]["collectionDate"]
    members[f"{DATA}/data_report.jsonl"] = b"\n".join(json.dumps(r).encode() for r in lines)
    return build_zip(tmp_path / "mixed.zip", members), lines


def expected_years(lines) -> dict:
    return {r["accession"]: (int(r["isolate"]["collectionDate"][:4])
                             if "collectionDate" in r.get("isolate", {}) else None)
            for r in lines}


def export(package, out) -> None:
    """`vpkg export --partition-by collection_year` in a real subprocess."""
    subprocess.run([sys.executable, "-m", "vpkg", "export", str(package), "-o", str(out),
                    "--partition-by", "collection_year", "--no-progressbar"], check=True,
                   capture_output=True)


READERS = {
    "pandas": lambda p: pd.read_parquet(p).to_dict("records"),
    "polars": lambda p: pl.read_parquet(p).to_dicts(),
    "pyarrow.parquet": lambda p: pq.read_table(p).to_pylist(),
    "pyarrow.dataset": lambda p: ds.dataset(p).to_table().to_pylist(),
    "duckdb": lambda p: _duckdb_rows(f"SELECT * FROM read_parquet('{p}/**/*.parquet')"),
}


def _duckdb_rows(query: str) -> list[dict]:
    rel = duckdb.sql(query)
    return [dict(zip(rel.columns, row, strict=True)) for row in rel.fetchall()]


def years_read(reader: str, folder) -> dict:
    rows = READERS[reader](folder)
    return {r["accession"]: (None if pd.isna(r["collection_year"]) else int(r["collection_year"]))
            for r in rows}


@pytest.mark.parametrize("reader", READERS)
def test_null_and_dated_partitions(reader, tmp_path):
    package, lines = mixed_package(tmp_path)
    export(package, tmp_path / "out")
    assert (tmp_path / "out" / "genomes" / "collection_year-__null__").is_dir()
    expected = expected_years(lines)
    assert None in expected.values() and len(set(expected.values())) > 1
    assert years_read(reader, tmp_path / "out" / "genomes") == expected
    # a sequence table takes its genome's year
    assert years_read(reader, tmp_path / "out" / "genome_sequences") == expected


@pytest.mark.parametrize("reader", READERS)
def test_all_null_partition(reader, tmp_path):
    export(UNDATED, tmp_path / "out")
    lines = zip_members(UNDATED)[f"{DATA}/data_report.jsonl"].splitlines()
    expected = expected_years([json.loads(ln) for ln in lines])
    assert set(expected.values()) == {None} and len(expected) == 9
    assert years_read(reader, tmp_path / "out" / "genomes") == expected
