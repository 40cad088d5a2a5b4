"""Warehouse storage against the zstd Parquet export of the same tables.

    python benchmarks/warehouse_size.py [CORPUS_DIR] [--limit N] [--json OUT]

Loads every package zip of CORPUS_DIR (default ``../shared/realdata/corpus``, 400 real
packages) into a new warehouse with `vpkg.load`, one transaction per package as users do,
then writes each warehouse table as one zstd Parquet file (the writer settings of
`vpkg.sinks.parquet`: zstd, no dictionary on ``sequence``) and prints both sizes, table by
table, and their ratio. Byte counts only; the load time is printed for information.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

import vpkg
from vpkg.tables import TABLES

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "realdata" / "corpus"


def parquet_bytes(con: duckdb.DuckDBPyConnection, table: str, out: Path) -> int:
    """Size of ``table`` written as one zstd Parquet file."""
    relation = con.sql(f"SELECT * FROM {table}")
    # DuckDB 2 renamed fetch_record_batch to to_arrow_reader
    if hasattr(relation, "to_arrow_reader"):
        reader = relation.to_arrow_reader(65536)
    else:  # pragma: no cover - DuckDB 1.x
        reader = relation.fetch_record_batch(65536)
    plain = {"sequence"}
    columns = [n for n in reader.schema.names if n not in plain]
    with pq.ParquetWriter(out, reader.schema, compression="zstd",
                          use_dictionary=columns) as writer:
        for batch in reader:
            writer.write_batch(batch)
    return out.stat().st_size


def measure(corpus: Path, limit: int | None) -> dict:
    packages = sorted(corpus.glob("*.zip"))[:limit]
    if not packages:
        raise SystemExit(f"no package zips in {corpus}")
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "warehouse.duckdb"
        start = time.perf_counter()
        vpkg.load(packages, db, progress=False)
        seconds = time.perf_counter() - start
        wal = db.with_name(db.name + ".wal")
        db_bytes = db.stat().st_size + (wal.stat().st_size if wal.exists() else 0)
        con = duckdb.connect(os.fspath(db), read_only=True)
        tables = {}
        for table in TABLES:
            rows = con.sql(f"SELECT count(*) FROM {table}").fetchall()[0][0]
            tables[table] = {"rows": rows,
                             "parquet_bytes": parquet_bytes(con, table, Path(tmp) / table)}
        con.close()
    parquet_total = sum(t["parquet_bytes"] for t in tables.values())
    return {
        "packages": len(packages),
        "zip_bytes": sum(p.stat().st_size for p in packages),
        "load_seconds": round(seconds, 1),
        "warehouse_bytes": db_bytes,
        "parquet_bytes": parquet_total,
        "ratio": round(db_bytes / parquet_total, 2),
        "tables": tables,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", nargs="?", type=Path, default=CORPUS)
    parser.add_argument("--limit", type=int, help="only the first N packages")
    parser.add_argument("--json", type=Path, help="also write the result here")
    args = parser.parse_args()
    result = measure(args.corpus, args.limit)
    mb = 1e6
    print(f"{result['packages']} packages, {result['zip_bytes'] / mb:.1f} MB of zips, "
          f"loaded in {result['load_seconds']} s")
    print(f"warehouse      {result['warehouse_bytes'] / mb:8.2f} MB")
    print(f"zstd Parquet   {result['parquet_bytes'] / mb:8.2f} MB")
    print(f"ratio          {result['ratio']:8.2f}x")
    for table, t in result["tables"].items():
        print(f"  {table:<18} {t['rows']:>8,} rows  {t['parquet_bytes'] / mb:7.2f} MB Parquet")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
