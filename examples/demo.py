"""`make demo`: the main job of vpkg on a real NCBI package shipped in fixtures/.

Opens the package, prints what it holds, verifies it, writes Parquet and a DuckDB
warehouse file, and answers one SQL question.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import vpkg

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "fixtures" / "real" / "Rotavirus_J.zip"
OUT = ROOT / "demo-out"


def main() -> None:
    pkg = vpkg.open_package(PACKAGE)
    print(f"package   {PACKAGE.relative_to(ROOT)} (catalog apiVersion {pkg.api_version})")
    for name in pkg.tables():
        table = pkg.table(name)
        print(f"table     {name:<18} {table.num_rows:>5} rows  {table.num_columns} columns")
    checked = pkg.verify()
    print(f"verified  {len(checked)} members: every zip CRC and md5sum.txt entry matches")

    shutil.rmtree(OUT, ignore_errors=True)
    written = pkg.to_parquet(OUT / "parquet")
    for path in written:
        print(f"parquet   {Path(path).relative_to(ROOT)}")
    db = OUT / "warehouse.duckdb"
    vpkg.load([PACKAGE], db, progress=False)
    print(f"duckdb    {db.relative_to(ROOT)}")

    query = """
        SELECT g.host_name, g.geo_country, g.collection_year, count(*) AS genomes,
               sum(s.length) AS bases, max(s.length) AS longest
        FROM genomes g JOIN genome_sequences s USING (accession)
        GROUP BY ALL ORDER BY genomes DESC, g.host_name
    """
    print("\nSQL: genomes by host, country and year (genomes joined to genome_sequences)")
    print(pkg.to_duckdb().sql(query))
    print("Run vpkg yourself: .venv/bin/vpkg --help (or `source .venv/bin/activate`, "
          "then `vpkg --help`); see the README.")


if __name__ == "__main__":
    main()
