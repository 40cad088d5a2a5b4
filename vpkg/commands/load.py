"""`vpkg load`: upsert packages into a persistent DuckDB warehouse, one transaction each.

    vpkg load sars-2024.zip sars-2025.zip --db warehouse.duckdb
"""

from __future__ import annotations

import argparse


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "load",
        help="load packages into a DuckDB warehouse (idempotent upsert)",
        description="Load packages into a DuckDB database file: tables are created on first "
        "load; records are upserted by accession, a newer update_date replacing an older "
        "one, never the reverse. Each package is one transaction. See docs/warehouse.md.",
    )
    p.add_argument("packages", nargs="+", metavar="PACKAGE", help="package .zip or folder")
    p.add_argument("--db", required=True, metavar="FILE.duckdb", help="the database file")
    p.add_argument("--force", action="store_true",
                   help="load a package even if its md5 is already recorded")
    p.add_argument("--no-verify", action="store_true",
                   help="skip the CRC and md5 checks before loading")
    p.add_argument("--no-progressbar", action="store_true", help="do not show a progress bar")
    p.add_argument("--jobs", type=int, default=1, metavar="N",
                   help="verify and read packages in N processes while this one commits "
                   "them in order (default: 1)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from vpkg.package import load

    if args.jobs != 1:
        from vpkg.parallel import load_packages

        for result in load_packages(args.packages, args.db, jobs=args.jobs,
                                    verify=not args.no_verify, force=args.force):
            print(result, flush=True)
        return 0
    for package in args.packages:  # one at a time, so that each result shows as it is done
        (result,) = load(package, args.db, verify=not args.no_verify, force=args.force,
                         progress=False if args.no_progressbar else None)
        print(result)
    return 0
