"""`vpkg export`: write tables of packages, one file (or Parquet dataset) per table.

    vpkg export sars.zip -o out/
    vpkg export sars.zip -o out/ --partition-by collection_year
    vpkg export a.zip b.zip -o out/ --format ndjson --with-sequence sequence
    vpkg export sars.zip -o out/ --format fasta --where "completeness = 'COMPLETE'"
"""

from __future__ import annotations

import argparse

FORMATS = ["parquet", "tsv", "csv", "ndjson", "fasta"]


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "export",
        help="write each table as parquet, tsv, csv, ndjson or fasta",
        description="Write each table of the packages to OUTDIR/<table>.<format> (streaming, "
        "written atomically). Several packages give one file per table with a first column "
        "package_file. Parquet of one package may be partitioned with --partition-by "
        "(Hive-style OUTDIR/<table>/<column>=<value>/).",
    )
    p.add_argument("packages", nargs="+", metavar="PACKAGE",
                   help="package .zip or extracted folder (several: one dataset)")
    p.add_argument("-o", "--output", "--outdir", dest="outdir", required=True, metavar="OUTDIR",
                   help="output folder (created when missing)")
    p.add_argument("--format", choices=FORMATS, default="parquet",
                   help="output format (default: parquet)")
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
    p.add_argument("--compression-level", type=int, metavar="N", help="parquet: zstd level")
    p.add_argument("--no-verify", action="store_true",
                   help="skip the CRC and md5 checks made before writing")
    p.add_argument("--no-progressbar", action="store_true", help="do not show a progress bar")
    p.set_defaults(run=run)


def _names(text: str | None) -> list[str] | None:
    return [t.strip() for t in text.split(",") if t.strip()] if text else None


def run(args: argparse.Namespace) -> int:
    from contextlib import ExitStack

    from vpkg.package import open_package
    from vpkg.sinks.formats import FastaOptions, export

    fasta = FastaOptions(args.id_column,
                         None if args.no_description else args.description_column,
                         args.line_width)
    with ExitStack() as stack:
        packages = [stack.enter_context(open_package(p)) for p in args.packages]
        done = export(
            packages,
            args.outdir,
            args.format,
            tables=_names(args.tables),
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
