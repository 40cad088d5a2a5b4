"""The scope filters `vpkg download` and `vpkg sync` share: their flags, and the names of
`vpkg.download` / `vpkg.sync` parameters they set (for error messages)."""

from __future__ import annotations

import argparse

# parameter -> the flag that sets it
FLAGS = {
    "host": "--host",
    "geo_location": "--geo-location",
    "usa_state": "--usa-state",
    "pangolin_classification": "--lineage",
    "released_since": "--released-after",
    "api_key": "--api-key",
}


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The filter flags, the same in both commands."""
    p.add_argument("--refseq", action="store_true", help="RefSeq genomes only")
    p.add_argument("--annotated", action="store_true", help="annotated genomes only")
    p.add_argument("--complete-only", action="store_true",
                   help="complete sequences only, as defined by the submitter")
    p.add_argument("--host", metavar="H", help="host taxid or name, e.g. 9606 or 'Homo sapiens'")
    p.add_argument("--geo-location", metavar="G", help="continent or country, e.g. USA, Asia")
    p.add_argument("--usa-state", metavar="XX", help="two-letter U.S. state code, e.g. CA")
    p.add_argument("--lineage", metavar="L", help="SARS-CoV-2 Pango lineage, e.g. LP.8.1")
    p.add_argument("--released-after", metavar="DATE", help="released on or after YYYY-MM-DD")


def values(args: argparse.Namespace) -> dict:
    """The parameters the filter flags set, by their Python names."""
    return {
        "refseq_only": args.refseq,
        "annotated_only": args.annotated,
        "complete_only": args.complete_only,
        "host": args.host,
        "geo_location": args.geo_location,
        "usa_state": args.usa_state,
        "pangolin_classification": args.lineage,
        "released_since": args.released_after,
    }
