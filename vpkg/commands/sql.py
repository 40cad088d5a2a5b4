"""`vpkg sql`: run SQL on a package's tables (one DuckDB view per table).

    vpkg sql sars.zip "SELECT geo_location, count(*) FROM genomes GROUP BY ALL"
    vpkg sql sars.zip "SELECT * FROM genome_sequences" --format csv > seqs.csv
"""

from __future__ import annotations

import argparse
import sys


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "sql",
        help="run SQL on the package's tables",
        description="Run a DuckDB SQL query on the package. Each table it holds is a view: "
        "genomes, genome_sequences, cds_sequences, protein_sequences, annotations, "
        "biosamples. Join them on accession.",
    )
    p.add_argument("package", metavar="PACKAGE", help="package .zip or extracted folder")
    p.add_argument("query", metavar="QUERY", help='the SQL, or "-" to read it from stdin')
    p.add_argument("--format", choices=["table", "csv", "json", "jsonl"], default="table",
                   help="table (aligned, for a terminal; default), csv, json or jsonl")
    p.add_argument("--max-width", type=int, default=60, metavar="N",
                   help="cut table cells to N characters (default 60; csv and json are whole)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from vpkg.package import open_package
    from vpkg.sinks.duckdb import query
    from vpkg.sinks.results import write_result

    sql = sys.stdin.read() if args.query == "-" else args.query
    with open_package(args.package) as pkg:
        rows = query(pkg.sources(), sql)
        write_result(rows, args.format, sys.stdout, max_width=max(args.max_width, 4))
    return 0
