"""`vpkg sync`: keep a DuckDB warehouse current with NCBI for one or more taxa.

    vpkg sync --taxon 1335626 --db mers.duckdb
    vpkg sync --taxon 2697049 --host 9606 --complete-only --db sars2.duckdb --dry-run
"""

from __future__ import annotations

import argparse

from vpkg.commands import filters
from vpkg.errors import ParameterError

# sync() parameter -> the flag that sets it, for error messages
FLAGS = {
    **filters.FLAGS,
    "taxon": "--taxon",
    "db": "--db",
    "include": "--include",
    "lag_days": "--lag-days",
    "full_listing_days": "--full-listing-days",
    "chunk_size": "--chunk-size",
    "base_url": "$VPKG_BASE_URL",
}


def register(subparsers) -> None:
    """Add the ``sync`` subcommand."""
    p = subparsers.add_parser(
        "sync",
        help="keep a DuckDB warehouse current with NCBI for a taxon (incremental)",
        description="List the taxon's records at NCBI Datasets, download only new and changed "
        "ones, upsert them into the warehouse, and move records NCBI no longer lists to "
        "withdrawn_<table>. Safe to interrupt: the next run finishes the work. "
        "See docs/sync.md.",
    )
    p.add_argument("--taxon", action="append", required=True, metavar="T",
                   help="NCBI taxid or name; repeat for several (one scope)")
    p.add_argument("--db", required=True, metavar="FILE.duckdb", help="the warehouse file")
    p.add_argument("--include", default="genome", metavar="LIST",
                   help="comma-separated: genome, cds, protein, annotation, biosample, none "
                   "(default: genome)")
    filters.add_arguments(p)
    p.add_argument("--lag-days", type=int, default=7, metavar="N",
                   help="list records updated up to N days before the last run again "
                   "(default: 7)")
    p.add_argument("--full-listing-days", type=int, default=7, metavar="N",
                   help="list every accession of the scope at least every N days; in "
                   "between, one count request shows whether anything outside the lag window "
                   "changed, and only then is the scope listed in full; 0: on every run "
                   "(default: 7)")
    p.add_argument("--chunk-size", type=int, default=1000, metavar="N",
                   help="accessions per download request; each chunk is committed on its own "
                   "(default: 1000)")
    p.add_argument("--dry-run", action="store_true",
                   help="say what would change; download and write nothing")
    p.add_argument("--api-key", metavar="KEY", help="NCBI API key (default: $NCBI_API_KEY)")
    p.add_argument("--no-progressbar", action="store_true", help="do not show progress bars")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Run one sync and print its one-line summary."""
    from vpkg.sync import sync

    try:
        result = sync(
            args.db, args.taxon, include=args.include, lag_days=args.lag_days,
            full_listing_days=args.full_listing_days, dry_run=args.dry_run,
            **filters.values(args),
            api_key=args.api_key, progress=False if args.no_progressbar else None,
            chunk_size=args.chunk_size,
        )
    except ParameterError as exc:
        flag = FLAGS.get(exc.parameter or "")
        if flag and flag not in str(exc):
            raise ParameterError(f"{exc} (option {flag})", exc.parameter) from None
        raise
    print(result)
    return 0
