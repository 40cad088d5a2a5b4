"""`vpkg info`: a package's members and sizes, apiVersion, tables with row counts, and whether
it verifies (every zip CRC and md5sum.txt entry).

    vpkg info sars.zip
    vpkg info sars.zip --no-verify
"""

from __future__ import annotations

import argparse
import sys


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "info",
        help="members, tables, row counts and verification of a package",
        description="Show a package's members and sizes, catalog apiVersion, tables with "
        "row counts, and the verification result. Exit status 1 when verification fails or "
        "a table cannot be read.",
    )
    p.add_argument("package", metavar="PACKAGE", help="package .zip or extracted folder")
    p.add_argument("--no-verify", action="store_true", help="skip the CRC and md5 checks")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from vpkg.info import format_info, package_info
    from vpkg.package import open_package

    with open_package(args.package) as pkg:
        info = package_info(pkg, verify=not args.no_verify)
    print(format_info(info))
    for warning in info.warnings:
        print(f"vpkg info: warning: {warning}", file=sys.stderr)
    if info.ok:
        return 0
    failed = [f"table {t.table}: {t.error}" for t in info.tables if t.error]
    reason = info.verify_message if info.verified is False else failed[0]
    print(f"vpkg info: error: {reason}", file=sys.stderr)
    return 1
