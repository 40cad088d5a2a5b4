"""`vpkg sql`: run SQL on the tables of packages (one DuckDB view per table), or on a
warehouse file.

    vpkg sql sars.zip "SELECT geo_location, count(*) FROM genomes GROUP BY ALL"
    vpkg sql a.zip b.zip "SELECT package_file, count(*) FROM genomes GROUP BY ALL"
    vpkg sql wh.duckdb "SELECT count(*) FROM genomes"
"""

from __future__ import annotations

import argparse
import sys


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "sql",
        help="run SQL on the tables of packages or of a warehouse",
        description="Run a DuckDB SQL query (the last argument) on packages: each table they "
        "hold is a view (genomes, genome_sequences, cds_sequences, protein_sequences, "
        "annotations, biosamples; join them on accession). Several packages give one view "
        "per table over all of them, with a first column package_file naming the package. "
        "A .duckdb file (a `vpkg load` warehouse) is opened read-only, with its own tables.",
    )
    p.add_argument("args", nargs="+", metavar="PATH... QUERY",
                   help='packages (.zip or extracted folder) or one .duckdb file, then the '
                   'SQL, or "-" to read the SQL from stdin')
    p.add_argument("--format", choices=["table", "csv", "json", "jsonl"], default="table",
                   help="table (aligned, for a terminal; default), csv, json or jsonl")
    p.add_argument("--max-width", type=int, default=60, metavar="N",
                   help="cut table cells to N characters (default 60; csv and json are whole)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from contextlib import ExitStack

    from vpkg.errors import ParameterError
    from vpkg.package import open_package, views_of
    from vpkg.sinks.multi import is_warehouse, query, query_warehouse
    from vpkg.sinks.results import write_result

    if len(args.args) < 2:
        raise ParameterError("give one or more packages (or one .duckdb file), then the query: "
                             'vpkg sql PATH... "SELECT ..."', parameter="query")
    *paths, sql = args.args
    sql = sys.stdin.read() if sql == "-" else sql
    warehouses = [p for p in paths if is_warehouse(p)]
    with ExitStack() as stack:
        if warehouses:
            if len(paths) > 1:
                raise ParameterError(
                    f"{warehouses[0]} is a DuckDB warehouse: query it alone (vpkg sql "
                    f"{warehouses[0]} QUERY), or load the packages into it first (vpkg load "
                    "PACKAGE --db FILE)", parameter="path")
            rows = query_warehouse(paths[0], sql)
        else:
            packages = [stack.enter_context(open_package(p)) for p in paths]
            rows = query(views_of(packages), sql)
        write_result(rows, args.format, sys.stdout, max_width=max(args.max_width, 4))
    return 0
