"""`vpkg tsv`: the genomes of packages as `dataformat tsv virus-genome` writes them, quoted
where a value needs it.

    vpkg tsv sars.zip > metadata.tsv
    vpkg tsv a.zip b.zip --fields accession,isolate-collection-date,geo-location --elide-header
"""

from __future__ import annotations

import argparse
import sys


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "tsv",
        help="genomes as dataformat tsv virus-genome (quoted where needed)",
        description="Write the genomes of the packages to stdout as `dataformat tsv "
        "virus-genome` does: the same mnemonics, headers, default fields and values. A value "
        "holding a tab, a line break or a double quote is written in double quotes (inner "
        "quotes doubled), so that no row shifts; fields NCBI adds never fail.",
    )
    p.add_argument("packages", nargs="+", metavar="PACKAGE",
                   help="package .zip or extracted folder (several: one table)")
    p.add_argument("--fields", action="append", metavar="LIST",
                   help="comma-separated mnemonics (dataformat's) or genomes column names, in "
                   "output order; may be repeated (default: all 50 fields)")
    p.add_argument("--elide-header", action="store_true", help="do not write the header line")
    p.add_argument("--mnemonics-header", action="store_true",
                   help="name the columns by the --fields names instead of dataformat's "
                   "headers (what `--elide-header | csvtk add-header -n FIELDS` gives)")
    p.add_argument("--where", metavar="SQL",
                   help="keep the genomes matching this DuckDB predicate on genomes columns")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from contextlib import ExitStack

    from vpkg.package import open_package, views_of
    from vpkg.sinks.dataformat import parse_fields, write_tsv

    with ExitStack() as stack:
        packages = [stack.enter_context(open_package(p)) for p in args.packages]
        views = views_of(packages)
        out = sys.stdout.buffer
        write_tsv(views, out, parse_fields(args.fields), header=not args.elide_header,
                  where=args.where, names_header=args.mnemonics_header)
        out.flush()
    return 0
