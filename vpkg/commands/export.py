"""`vpkg export`: write tables of packages, one file (or Parquet dataset) per table.

    vpkg export sars.zip -o out/
    vpkg export sars.zip -o out/ --partition-by collection_year
    vpkg export corpus/*.zip -o out/ --jobs 2
    vpkg export a.zip b.zip -o out/ --format ndjson --with-sequence sequence
    vpkg export sars.zip -o out/ --format fasta --where "completeness = 'COMPLETE'"
    vpkg export sars.zip -o out/ --format genbank
"""

from __future__ import annotations

import argparse

FORMATS = ["parquet", "tsv", "csv", "ndjson", "fasta", "genbank"]


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "export",
        help="write each table as parquet, tsv, csv, ndjson, fasta or genbank",
        description="Write each table of the packages to OUTDIR/<table>.<format> (streaming, "
        "written atomically). Parquet of several packages gives one dataset folder per table, "
        "OUTDIR/<table>/<package>.parquet, read N packages at a time with --jobs N; the other "
        "formats, and Parquet with --columns, --where or --with-sequence, give one file per "
        "table with a first column package_file. --partition-by writes "
        "OUTDIR/<table>/<column>-<value>/ folders (Parquet without a selection).",
    )
    p.add_argument("packages", nargs="+", metavar="PACKAGE",
                   help="package .zip or extracted folder (several: one dataset)")
    p.add_argument("-o", "--output", "--outdir", dest="outdir", required=True, metavar="OUTDIR",
                   help="output folder (created when missing)")
    p.add_argument("--format", choices=FORMATS, default="parquet",
                   help="output format (default: parquet; genbank: OUTDIR/<table>.gb per "
                   "sequence table, needs Biopython)")
    p.add_argument("--tables", metavar="T,T", help="comma-separated tables (default: all; "
                   "for fasta the sequence tables)")
    p.add_argument("--columns", metavar="C,C", help="comma-separated columns to keep, in order")
    p.add_argument("--where", metavar="SQL", help="keep the rows matching this DuckDB "
                   "predicate; sequence and annotation tables may use genomes columns")
    p.add_argument("--with-sequence", metavar="FIELD",
                   help="add the genome sequence to each genomes row under this name")
    p.add_argument("--id-column", metavar="COL", help="fasta: the header's id (default: "
                   "accession for genomes, id for CDS and proteins; accession_unversioned "
                   "drops the version)")
    p.add_argument("--description-column", default="description", metavar="COL",
                   help="fasta: the text after the id (default: description)")
    p.add_argument("--no-description", action="store_true", help="fasta: the id only")
    p.add_argument("--line-width", type=int, default=70, metavar="N",
                   help="fasta: letters per line (default 70, as NCBI; 0: one line)")
    p.add_argument("--partition-by", metavar="COLUMN",
                   help="parquet: partition by a column, e.g. virus_tax_id, or collection_year")
    p.add_argument("--compression-level", type=int, metavar="N",
                   help="parquet: zstd level, 1 (fastest) to 22 (smallest)")
    p.add_argument("--jobs", type=int, default=1, metavar="N",
                   help="parquet of several packages: read N packages at a time, in N "
                   "processes (default: 1)")
    p.add_argument("--no-verify", action="store_true",
                   help="skip the CRC and md5 checks made before writing")
    p.add_argument("--no-progressbar", action="store_true", help="do not show a progress bar")
    p.set_defaults(run=run)


def _names(text: str | None) -> list[str] | None:
    return [t.strip() for t in text.split(",") if t.strip()] if text else None


def run(args: argparse.Namespace) -> int:
    from vpkg.errors import ParameterError
    from vpkg.parallel import check_jobs
    from vpkg.sinks.parquet import check_compression_level

    check_jobs(args.jobs)
    try:
        check_compression_level(args.compression_level)  # before any package is opened
    except ParameterError as exc:
        raise ParameterError(f"--compression-level: {exc}", exc.parameter) from None
    tables = _names(args.tables)
    selected = bool(args.columns or args.where or args.with_sequence)
    if args.format == "genbank":
        return _genbank(args, tables)
    if args.format == "parquet" and len(args.packages) > 1 and not selected:
        return _datasets(args, tables)
    if args.jobs > 1:
        raise ParameterError("--jobs reads several packages into a Parquet dataset per "
                             "table; it does not apply with --format "
                             f"{args.format}" + (" or a selection" if selected else ""),
                             parameter="jobs")
    return _files(args, tables)


def _files(args: argparse.Namespace, tables: list[str] | None) -> int:
    """One file per table (one package: Parquet files or datasets as `to_parquet`)."""
    from contextlib import ExitStack

    from vpkg.package import export, open_package
    from vpkg.sinks.formats import FastaOptions

    fasta = FastaOptions(args.id_column,
                         None if args.no_description else args.description_column,
                         args.line_width)
    with ExitStack() as stack:
        packages = [stack.enter_context(open_package(p)) for p in args.packages]
        done = export(
            packages,
            args.outdir,
            args.format,
            tables=tables,
            columns=_names(args.columns),
            where=args.where,
            with_sequence=args.with_sequence,
            fasta=fasta,
            partition_by=args.partition_by,
            compression_level=args.compression_level,
            verify=not args.no_verify,
            progress=False if args.no_progressbar else None,
        )
    for item in done:
        how = f", partitioned by {item.partition_by}" if item.partition_by else ""
        suffix = "/" if item.partition_by else ""
        print(f"{item.path}{suffix}\t{item.rows} rows{how}")
    return 0


def _datasets(args: argparse.Namespace, tables: list[str] | None) -> int:
    """Parquet of several packages: one dataset folder per table, ``--jobs`` at a time."""
    from vpkg.parallel import export_packages

    done = export_packages(
        args.packages, args.outdir, jobs=args.jobs, tables=tables,
        partition_by=args.partition_by, compression_level=args.compression_level,
        verify=not args.no_verify, progress=False if args.no_progressbar else None,
    )
    for item in done:
        how = f", partitioned by {item.partition_by}" if item.partition_by else ""
        count = f"{item.packages} package{'' if item.packages == 1 else 's'}"
        print(f"{item.path}/\t{item.rows} rows from {count}{how}")
    return 0


def _genbank(args: argparse.Namespace, tables: list[str] | None) -> int:
    from vpkg.bio import export_genbank
    from vpkg.errors import ParameterError
    from vpkg.package import open_package

    if args.partition_by or args.compression_level is not None:
        raise ParameterError("--partition-by and --compression-level apply to Parquet only; "
                             "drop them with --format genbank", parameter="format")
    if len(args.packages) > 1:
        raise ParameterError("--format genbank takes one package", parameter="format")
    with open_package(args.packages[0]) as pkg:
        if not args.no_verify:
            pkg.verify()
        for item in export_genbank(pkg, args.outdir, tables=tables):
            print(f"{item.path}\t{item.rows} records")
    return 0
