"""The `vpkg` command: parses flags, calls the library, prints. One module per subcommand.

Every expected failure is a `VpkgError`, printed as one line on stderr with exit status 1.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from vpkg.errors import VpkgError
from vpkg.version import __version__

# subcommand name -> module in vpkg.commands defining `register(subparsers)` and `run(args)`
COMMANDS = ["download", "sync", "info", "export", "tsv", "sql", "load", "check", "report"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vpkg",
        description="NCBI Datasets virus genome packages as Arrow tables, SQL and Parquet.",
    )
    parser.add_argument("--version", action="version", version=f"vpkg {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(f"vpkg.commands.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    from vpkg.commands.signals import Terminated, stop_on_signals

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        with stop_on_signals():  # SIGTERM/SIGHUP clean up like Ctrl-C
            return int(args.run(args) or 0)
    except VpkgError as exc:
        print(f"vpkg {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except Terminated as exc:
        print(f"vpkg {args.command}: stopped by {exc.name}", file=sys.stderr)
        return 128 + exc.signum
    except KeyboardInterrupt:
        print(f"vpkg {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
