"""`vpkg check`: translate every CDS of a package and compare it with its protein.

    vpkg check sars.zip
    vpkg check sars.zip --strict        # exit status 1 when any CDS does not translate
"""

from __future__ import annotations

import argparse
import sys

from vpkg.errors import VpkgError


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "check",
        help="check that every CDS translates to its protein",
        description="Cut every CDS of annotation_report.jsonl from the genome (or take it from "
        "cds.fna), translate it with Biopython and compare it with its protein in protein.faa. "
        "Prints the count of each status and one line per CDS that does not match.",
    )
    p.add_argument("package", metavar="PACKAGE", help="package .zip or extracted folder")
    p.add_argument("--strict", action="store_true",
                   help="exit with status 1 when a CDS mismatches its protein, or cds.fna "
                   "disagrees with the genome")
    p.add_argument("--genetic-code", type=int, metavar="N",
                   help="NCBI genetic code for every CDS (default: from the virus lineage, "
                   "standard code 1 for most viruses)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from vpkg.package import open_package

    with open_package(args.package) as pkg:
        result = pkg.check_translations(genetic_code=args.genetic_code)
    rows = result.to_pylist()
    counts = {status: 0 for status in ("match", "mismatch", "ambiguous", "no_protein",
                                       "no_genome")}
    for row in rows:
        counts[row["status"]] += 1
    disagree = sum(row["cds_fna_agrees"] is False for row in rows)
    print(f"{len(rows)} CDS: " + ", ".join(f"{n} {s}" for s, n in counts.items()))
    if any(row["cds_fna_agrees"] is not None for row in rows):
        print(f"cds.fna: {disagree} CDS differ from the genome at the annotation ranges")
    for row in rows:
        if row["status"] != "match" or row["cds_fna_agrees"] is False:
            print("\t".join([row["status"], row["cds_id"] or row["accession"],
                             row["protein_id"] or "-", row["note"] or ""]))
    failed = counts["mismatch"] + sum(
        row["cds_fna_agrees"] is False and row["status"] != "mismatch" for row in rows)
    if args.strict and failed:
        sys.stdout.flush()
        raise VpkgError(f"{args.package}: {failed} CDS do not translate to their protein or "
                        "disagree with cds.fna (--strict); see the lines above")
    return 0
