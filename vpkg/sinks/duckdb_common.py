"""What the DuckDB sinks share: quoting names, and DuckDB errors as vpkg errors.

A scan of a `vpkg.sources.Source` that fails inside DuckDB reaches Python only as DuckDB's
text; `reraise` raises the source's own `VpkgError` instead, which names the file and line.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, NoReturn

from vpkg.errors import ParameterError, VpkgError

if TYPE_CHECKING:  # pragma: no cover
    from vpkg.sources import Source

def reraise(
    exc: BaseException, streams: Sequence[Source], doing: str, query: bool = True
) -> NoReturn:
    """Raise the VpkgError a stream hit during ``exc``; else DuckDB's message, starting with
    ``doing``, as a `ParameterError` (``query=True``: the user's SQL was at fault) or a
    `VpkgError`; anything else unchanged.
    """
    import duckdb

    for stream in streams:
        if stream.error is not None:
            raise stream.error from None
    if not isinstance(exc, duckdb.Error):
        raise exc
    message = f"{doing}: {duckdb_message(exc)}"
    if not query:
        raise VpkgError(message) from None
    if isinstance(exc, duckdb.CatalogException) and streams:
        names = dict.fromkeys(s.table for s in streams)  # one name per table of many packages
        message += f" (the views of this package: {', '.join(names)})"
    raise ParameterError(message, parameter="query") from None


def duckdb_message(exc: BaseException) -> str:
    """DuckDB's error message on one line (the ``LINE 1:`` excerpt and its caret dropped).

    >>> duckdb_message(Exception('Parser Error: syntax error at or near "x"\\n\\nLINE 1: x\\n ^'))
    'Parser Error: syntax error at or near "x"'
    """
    lines = [line.strip() for line in str(exc).splitlines()]
    kept = [ln for ln in lines if ln and not ln.startswith("LINE ") and set(ln) != {"^"}]
    return " ".join(kept)


def quote(name: str) -> str:
    """A SQL identifier, double-quoted.

    >>> quote('a"b')
    '"a""b"'
    """
    return '"' + name.replace('"', '""') + '"'
