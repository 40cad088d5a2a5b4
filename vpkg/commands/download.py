"""`vpkg download`: download a virus genome package, with the official `datasets` flag names.

    vpkg download NC_045512.2,OQ282284.1 --include genome,protein,annotation --filename sars.zip
    vpkg download --inputfile accessions.txt --complete-only --released-after 2024-01-01
    vpkg download --taxon 1335626 --complete-only --filename mers.zip    # the whole taxon
"""

from __future__ import annotations

import argparse
import sys

from vpkg.commands import filters
from vpkg.errors import ParameterError

# download() parameter -> the flag that sets it, for error messages
FLAGS = {
    **filters.FLAGS,
    "accessions": "ACCESSION/--inputfile",
    "include_sequence": "--include",
    "aux_report": "--include",
    "updated_since": "--updated-after",
    "taxons": "--taxon",
    "taxon": "--taxon",
    "dest": "--filename",
}


def register(subparsers) -> None:
    """Add the ``download`` subcommand."""
    p = subparsers.add_parser(
        "download",
        help="download a virus genome data package from NCBI Datasets",
        description="Download a virus genome data package by nucleotide accession, verify it "
        "(zip CRCs and md5sum.txt) and save it atomically. See docs/download.md.",
    )
    p.add_argument(
        "accessions", nargs="*", metavar="ACCESSION",
        help="nucleotide accessions; a single argument may be comma-separated",
    )
    p.add_argument("--inputfile", metavar="FILE",
                   help="read accessions from FILE, one per line ('-' for stdin)")
    p.add_argument("--include", default="genome", metavar="LIST",
                   help="comma-separated: genome, cds, protein, annotation, biosample, none "
                   "(default: genome)")
    filters.add_arguments(p)
    p.add_argument("--updated-after", metavar="DATE", help="updated on or after YYYY-MM-DD")
    p.add_argument("--taxon", action="append", metavar="T",
                   help="without accessions: download this taxon (taxid or name); with "
                   "accessions: restrict them to it (repeat for several)")
    p.add_argument("--use-psg", action="store_true", help="experimental sequence retrieval")
    p.add_argument("--filename", default="ncbi_dataset.zip", metavar="FILE",
                   help="where to save the zip (default: ncbi_dataset.zip)")
    p.add_argument("--api-key", metavar="KEY", help="NCBI API key (default: $NCBI_API_KEY)")
    p.add_argument("--no-progressbar", action="store_true", help="do not show a progress bar")
    p.add_argument("-q", "--quiet", action="store_true",
                   help="no progress bar and no retry messages; errors only")
    p.add_argument("-v", "--verbose", action="store_true",
                   help="also log every HTTP request: method, URL, status, bytes")
    p.set_defaults(run=run)


def log_to_stderr(quiet: bool, verbose: bool) -> None:
    """Show the fetch layer's records on stderr: retries (INFO) unless ``quiet``, each
    request (DEBUG) when ``verbose``."""
    import logging

    logger = logging.getLogger("vpkg.fetch")
    if not any(getattr(h, "vpkg_cli", False) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("vpkg download: %(message)s"))
        handler.vpkg_cli = True
        logger.addHandler(handler)
    logger.setLevel(logging.WARNING if quiet else logging.DEBUG if verbose else logging.INFO)


def run(args: argparse.Namespace) -> int:
    """Download, print the saved path; errors are raised as `VpkgError`."""
    from vpkg.fetch import download

    log_to_stderr(args.quiet, args.verbose)
    params = {
        **parse_include(args.include),
        **filters.values(args),
        "updated_since": args.updated_after,
        "taxons": args.taxon,
        "use_psg": True if args.use_psg else None,
        "api_key": args.api_key,
        "progress": False if args.no_progressbar or args.quiet else None,
    }
    try:
        if not args.accessions and not args.inputfile and args.taxon:
            if len(args.taxon) > 1:
                raise ParameterError(
                    "a taxon download takes one --taxon; run one download per taxon, or use "
                    "vpkg sync for several", "taxon")
            params.pop("taxons")
            path = download(None, args.filename, taxon=args.taxon[0], **params)
        else:
            accessions = read_accessions(args.accessions, args.inputfile)
            path = download(accessions, args.filename, **params)
    except ParameterError as exc:
        flag = FLAGS.get(exc.parameter or "")
        if flag:
            raise ParameterError(f"{exc} (option {flag})", exc.parameter) from None
        raise
    print(path)
    return 0


def parse_include(text: str) -> dict[str, list[str]]:
    """``--include`` words as ``include_sequence`` and ``aux_report`` lists.

    Sequence types not named are not downloaded: ``--include annotation`` alone gives the
    data report and the annotation report, with ``include_sequence=NONE``.
    """
    from vpkg.fetch.params import INCLUDE  # here: `vpkg --help` loads no HTTP library

    chosen: dict[str, list[str]] = {"include_sequence": [], "aux_report": []}
    for word in text.split(","):
        key = word.strip().lower()
        if key not in INCLUDE:
            raise ParameterError(
                f"--include: {word.strip()!r} is not one of {', '.join(INCLUDE)}", "include"
            )
        param, value = INCLUDE[key]
        if value not in chosen[param]:
            chosen[param].append(value)
    if not chosen["include_sequence"]:
        chosen["include_sequence"] = ["NONE"]
    return chosen


def read_accessions(positional: list[str], inputfile: str | None) -> list[str]:
    """Accessions from the arguments (one argument may be comma-separated) or ``--inputfile``."""
    if positional and inputfile:
        raise ParameterError(
            "give accessions either as arguments or with --inputfile, not both", "accessions"
        )
    if positional:
        return [part for arg in positional for part in arg.split(",")]
    if not inputfile:
        raise ParameterError(
            "no accessions: give one or more as arguments, or --inputfile FILE, or --taxon T "
            "for a taxon download", "accessions"
        )
    try:
        if inputfile == "-":
            lines = sys.stdin.read().splitlines()
        else:
            with open(inputfile, encoding="utf-8-sig") as fh:
                lines = fh.read().splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or exc
        message = f"--inputfile: cannot read {inputfile}: {reason}"
        raise ParameterError(message, "inputfile") from exc
    accessions = [line.strip() for line in lines if line.strip()]
    if not accessions:
        name = "standard input" if inputfile == "-" else inputfile
        raise ParameterError(
            f"--inputfile: no accessions read from {name}; put one accession per line",
            "inputfile",
        )
    return accessions
