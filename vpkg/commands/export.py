"""`vpkg export`: write every table of a package as Parquet, one file (or dataset) per table.

    vpkg export sars.zip -o out/
    vpkg export sars.zip -o out/ --partition-by collection_year
"""

from __future__ import annotations

import argparse


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "export",
        help="write each table as <table>.parquet",
        description="Write each table of the package to OUTDIR/<table>.parquet (zstd, "
        "streaming, written atomically), or with --partition-by to a Hive-style dataset "
        "OUTDIR/<table>/<column>=<value>/.",
    )
    p.add_argument("package", nargs="+", metavar="PACKAGE",
                   help="package .zip or extracted folder; several give OUTDIR/<table>/ "
                   "datasets with one file per package")
    p.add_argument("-o", "--output", "--outdir", dest="outdir", required=True, metavar="OUTDIR",
                   help="output folder (created when missing)")
    p.add_argument("--format", choices=["parquet", "genbank"], default="parquet",
                   help="output format (default: parquet; genbank: OUTDIR/<table>.gb per "
                   "sequence table, needs Biopython)")
    p.add_argument("--partition-by", metavar="COLUMN",
                   help="partition by a column, e.g. virus_tax_id, or collection_year")
    p.add_argument("--tables", metavar="T,T", help="comma-separated tables (default: all)")
    p.add_argument("--compression-level", type=int, metavar="N",
                   help="zstd level, 1 (fastest) to 22 (smallest)")
    p.add_argument("--no-verify", action="store_true",
                   help="skip the CRC and md5 checks made before writing")
    p.add_argument("--no-progressbar", action="store_true", help="do not show a progress bar")
    p.add_argument("--jobs", type=int, default=1, metavar="N",
                   help="read N packages at a time, in N processes (default: 1)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from vpkg.errors import ParameterError
    from vpkg.package import open_package
    from vpkg.parallel import check_jobs
    from vpkg.sinks.parquet import check_compression_level

    check_jobs(args.jobs)
    tables = [t.strip() for t in args.tables.split(",") if t.strip()] if args.tables else None
    if args.format == "genbank":
        return _genbank(args, tables)
    try:
        check_compression_level(args.compression_level)  # before the package is opened
    except ParameterError as exc:
        raise ParameterError(f"--compression-level: {exc}", exc.parameter) from None
    if len(args.package) > 1:
        return _export_many(args, tables)
    with open_package(args.package[0]) as pkg:
        done = pkg.to_parquet(
            args.outdir,
            tables=tables,
            partition_by=args.partition_by,
            compression_level=args.compression_level,
            progress=False if args.no_progressbar else None,
            verify=not args.no_verify,
        )
    for item in done:
        how = f", partitioned by {item.partition_by}" if item.partition_by else ""
        suffix = "/" if item.partition_by else ""
        print(f"{item.path}{suffix}\t{item.rows} rows{how}")
    return 0


def _genbank(args: argparse.Namespace, tables: list[str] | None) -> int:
    from vpkg.bio import export_genbank
    from vpkg.errors import ParameterError
    from vpkg.package import open_package

    if args.partition_by or args.compression_level is not None:
        raise ParameterError("--partition-by and --compression-level apply to Parquet only; "
                             "drop them with --format genbank", parameter="format")
    if len(args.package) > 1:
        raise ParameterError("--format genbank takes one package", parameter="format")
    with open_package(args.package[0]) as pkg:
        if not args.no_verify:
            pkg.verify()
        for item in export_genbank(pkg, args.outdir, tables=tables):
            print(f"{item.path}\t{item.rows} records")
    return 0


def _export_many(args: argparse.Namespace, tables: list[str] | None) -> int:
    from vpkg.parallel import export_packages

    done = export_packages(
        args.package, args.outdir, jobs=args.jobs, tables=tables,
        partition_by=args.partition_by, compression_level=args.compression_level,
        verify=not args.no_verify, progress=False if args.no_progressbar else None,
    )
    for item in done:
        how = f", partitioned by {item.partition_by}" if item.partition_by else ""
        count = f"{item.packages} package{'' if item.packages == 1 else 's'}"
        print(f"{item.path}/\t{item.rows} rows from {count}{how}")
    return 0
