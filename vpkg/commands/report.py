"""`vpkg report`: one self-contained HTML page of charts about packages or a warehouse.

    vpkg report sars.zip -o report.html
    vpkg report sars-2024.zip sars-2025.zip -o both.html
    vpkg report warehouse.duckdb -o warehouse.html
"""

from __future__ import annotations

import argparse
import contextlib


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "report",
        help="an offline HTML page of charts about packages or a warehouse",
        description="Write one self-contained HTML file (scripts and data inlined; it makes "
        "no request when viewed) with the genomes per collection and release year, the "
        "release lag, top countries and hosts, sequence lengths, shares and a data-quality "
        "table. Give one or more packages (combined, one row per accession) or one "
        "warehouse .duckdb written by vpkg load. See docs/report.md.",
    )
    p.add_argument("paths", nargs="+", metavar="PATH",
                   help="package .zip or folder, or one warehouse .duckdb")
    p.add_argument("-o", "--output", required=True, metavar="FILE.html",
                   help="the HTML file to write")
    p.add_argument("--title", help="the page title (default: from the file names)")
    p.add_argument("--no-verify", action="store_true",
                   help="skip the CRC and md5 checks shown in the header")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from vpkg.errors import ParameterError
    from vpkg.package import open_package
    from vpkg.sinks.report import is_warehouse, write_report

    warehouses = [p for p in args.paths if is_warehouse(p)]
    if warehouses and len(args.paths) > 1:
        raise ParameterError(
            f"{warehouses[0]} is a warehouse: report on one warehouse alone, or on packages "
            "only (load the packages into the warehouse to see them together)", "PATH")
    if warehouses:
        summary = write_report(warehouses[0], args.output, title=args.title)
    else:
        with contextlib.ExitStack() as stack:
            packages = [stack.enter_context(open_package(p)) for p in args.paths]
            summary = write_report([p.report_input(verify=not args.no_verify) for p in packages],
                                   args.output,
                                   verify=not args.no_verify, title=args.title)
    print(summary)
    return 0
