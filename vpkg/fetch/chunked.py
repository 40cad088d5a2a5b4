"""Very long accession lists: one POST per chunk, each verified, then one merged package.

Every chunk is streamed to its own temporary file beside ``dest``, verified and retried like
a single download (with a fresh budget of attempts, through the shared rate limiter). The
verified chunks are merged (`vpkg.fetch.merge`) into one more temporary file, which is
verified too and only then renamed to ``dest``. After any failure every temporary file is
removed and ``dest`` is left as it was.
"""

from __future__ import annotations

import logging
import os
import zipfile
import zlib
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path

from vpkg import progress as progress_bars
from vpkg.errors import DownloadError, ParameterError, VpkgError
from vpkg.fetch.merge import merge_packages
from vpkg.fetch.params import DownloadRequest
from vpkg.fetch.session import Client
from vpkg.fetch.transfer import receive, temporary_beside, verify

log = logging.getLogger("vpkg.fetch")

#: Accessions per request above which a list is split (see docs/download.md).
DEFAULT_CHUNK_SIZE = 5000


def check_chunk_size(chunk_size: int | None) -> int | None:
    """``chunk_size`` if it is None or a positive int, else a `ParameterError`."""
    if chunk_size is None or (
        isinstance(chunk_size, int) and not isinstance(chunk_size, bool) and chunk_size >= 1
    ):
        return chunk_size
    raise ParameterError(
        f"chunk_size must be a positive number of accessions (default {DEFAULT_CHUNK_SIZE}), "
        f"or None never to split the list; got {chunk_size!r}",
        "chunk_size",
    )


def split_accessions(
    accessions: Sequence[str], chunk_size: int | None
) -> list[tuple[str, ...]]:
    """The accessions cut into as few chunks of at most ``chunk_size`` as possible, of even
    sizes (10,001 at 5,000 give 3,334 + 3,334 + 3,333), order kept.

    Spellings of one record (``NC_045512``, ``NC_045512.2``, ``nc_045512.1``) stay in one
    chunk, where NCBI returns the record once; split apart, it would be merged twice.
    """
    total = len(accessions)
    if chunk_size is None or total <= chunk_size:
        return [tuple(accessions)]
    groups: dict[str, list[str]] = {}
    for accession in accessions:
        groups.setdefault(accession.split(".")[0].upper(), []).append(accession)
    count = -(-total // chunk_size)
    chunks: list[tuple[str, ...]] = []
    current: list[str] = []
    placed = 0
    for group in groups.values():
        if current and len(current) + len(group) > chunk_size:
            chunks.append(tuple(current))
            current = []
        current += group
        placed += len(group)
        if placed >= -(-total * (len(chunks) + 1) // count):  # even boundaries
            chunks.append(tuple(current))
            current = []
    if current:
        chunks.append(tuple(current))
    return chunks


def fetch_chunks(
    client: Client,
    requests: Sequence[DownloadRequest],
    base_url: str,
    dest: Path,
    progress: bool | None = None,
) -> Path:
    """Download each request (a chunk of one list) and merge them into ``dest`` atomically.

    Raises
    ------
    DownloadError
        When a chunk fails (its number and accessions named), or the merge fails.
    """
    total = len(requests)
    log.info("NCBI Datasets: %d accessions in %d requests", _count(requests), total)
    with ExitStack() as stack:
        parts = []
        for number, request in enumerate(requests, start=1):
            tmp = stack.enter_context(temporary_beside(dest, f"chunk{number}"))
            method, url, body = request.post(base_url)
            client.restart_budget()
            try:
                receive(client, method, url, body, tmp, progress,
                        f"{dest.name} chunk {number}/{total}")
            except DownloadError as exc:
                raise _chunk_error(exc, number, total, request.accessions) from exc
            parts.append(tmp)
        merged = stack.enter_context(temporary_beside(dest, "merged"))
        _merge(parts, merged, progress, f"{dest.name} merging {total} chunks")
        problem = verify(merged)
        if problem is not None:  # a bug, or the disk: the chunks were verified
            raise DownloadError(f"the merged package is damaged: {problem}; try again")
        os.replace(merged, dest)
    return dest


def _merge(parts: list[Path], merged: Path, progress: bool | None, label: str) -> None:
    try:
        with progress_bars.bar(None, label, progress) as bar:
            merge_packages(parts, merged, progress=bar.update)
    except DownloadError:
        raise
    except (VpkgError, zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise DownloadError(f"cannot merge the downloaded chunks: {exc}; try again") from exc


def _chunk_error(
    exc: DownloadError, number: int, total: int, accessions: Sequence[str]
) -> DownloadError:
    """``exc`` with the chunk it happened in (number, size, first and last accession)."""
    where = (
        f"chunk {number} of {total} ({len(accessions):,} accessions, "
        f"{accessions[0]} ... {accessions[-1]})"
    )
    return DownloadError(f"{where}: {exc}", status=exc.status, ncbi_message=exc.ncbi_message)


def _count(requests: Sequence[DownloadRequest]) -> int:
    return sum(len(r.accessions) for r in requests)
