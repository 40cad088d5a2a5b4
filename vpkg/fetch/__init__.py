"""Fetch layer: download NCBI Datasets v2 virus genome data packages.

``params`` validates and encodes parameters, ``session`` talks HTTP (API key, rate limit,
retries), ``transfer`` streams, verifies and atomically renames the package, ``chunked``
splits very long accession lists into several requests whose packages ``merge`` joins.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path

from vpkg.errors import ParameterError
from vpkg.fetch.chunked import (
    DEFAULT_CHUNK_SIZE,
    check_chunk_size,
    fetch_chunks,
    split_accessions,
)
from vpkg.fetch.params import (
    DEFAULT_INCLUDE_SEQUENCE,
    build_request,
    resolve_api_key,
    resolve_base_url,
    resolve_dest,
    taxon_text,
)
from vpkg.fetch.session import Client, RetryPolicy
from vpkg.fetch.transfer import fetch

__all__ = ["DEFAULT_CHUNK_SIZE", "RetryPolicy", "download"]

DateLike = str | date | datetime | None


def download(
    accessions: str | Iterable[str] | None = None,
    dest: str | os.PathLike = "ncbi_dataset.zip",
    *,
    taxon: str | int | None = None,
    include_sequence: str | Iterable[str] = DEFAULT_INCLUDE_SEQUENCE,
    aux_report: str | Iterable[str] | None = None,
    refseq_only: bool = False,
    annotated_only: bool = False,
    complete_only: bool = False,
    released_since: DateLike = None,
    updated_since: DateLike = None,
    host: str | int | None = None,
    pangolin_classification: str | None = None,
    geo_location: str | None = None,
    usa_state: str | None = None,
    taxons: str | int | Iterable[str | int] | None = None,
    use_psg: bool | None = None,
    api_key: str | None = None,
    base_url: str | None = None,
    progress: bool | None = None,
    retry_policy: RetryPolicy | None = None,
    chunk_size: int | None = DEFAULT_CHUNK_SIZE,
) -> Path:
    """Download a virus genome data package, by accession or by taxon, and verify it.

    Parameters
    ----------
    accessions
        One accession, a comma-separated string, or any iterable of accessions.
    taxon
        Instead of accessions: an NCBI taxid or taxon name (any rank); every record of the
        taxon that passes the filters, from ``GET /virus/taxon/{taxon}/genome/download``.
    dest
        Destination zip; its folder must exist. Replaced only by a verified package.
    include_sequence
        Sequence files: any of ``GENOME``, ``CDS``, ``PROTEIN``, or ``NONE``. Always sent.
    aux_report
        Extra reports: ``ANNOTATION``, ``BIOSAMPLE_REPORT`` (``BIOSAMPLE`` accepted),
        ``DATASET_REPORT``. The data report is always included.
    refseq_only, annotated_only, complete_only
        Filters, sent only when True.
    released_since, updated_since
        ``'YYYY-MM-DD'``, ISO 8601 text, ``date`` or ``datetime``; sent as RFC 3339 UTC.
    host, pangolin_classification, geo_location, usa_state, taxons, use_psg
        Further filters; ``usa_state`` is a two-letter code, ``taxons`` one or more.
    api_key
        NCBI API key; default ``$NCBI_API_KEY``. Raises the rate limit from 3 to 10 req/s.
    base_url
        API root; default ``$VPKG_BASE_URL``, else ``https://api.ncbi.nlm.nih.gov/datasets/v2``.
    progress
        Progress bar on stderr; default: only when stderr is a terminal.
    retry_policy
        Attempts, backoff and timeouts (`RetryPolicy`); the defaults suit NCBI.
    chunk_size
        Most accessions per request (default 5,000). A longer list is split into even
        chunks, one POST each, whose verified packages are merged into one at ``dest``;
        None sends any list in one request.

    Returns
    -------
    pathlib.Path
        ``dest``, holding a package whose CRCs and md5 sums were checked.

    Raises
    ------
    ParameterError
        Before any request, naming the bad parameter and its allowed values.
    DownloadError
        When NCBI answers with an error (its message included) or no valid package arrives;
        for a split list, when any chunk fails (the error names it).
    """
    if (accessions is None) == (taxon is None):
        raise ParameterError(
            "give accessions or taxon=, not both (to restrict accessions to a taxon, use "
            "taxons=)" if taxon is not None else "give accessions, or taxon= for a taxon download",
            "taxon" if taxon is not None else "accessions",
        )
    request = build_request(
        accessions,
        include_sequence=include_sequence,
        aux_report=aux_report,
        refseq_only=refseq_only,
        annotated_only=annotated_only,
        complete_only=complete_only,
        released_since=released_since,
        updated_since=updated_since,
        host=host,
        pangolin_classification=pangolin_classification,
        geo_location=geo_location,
        usa_state=usa_state,
        taxons=taxons,
        use_psg=use_psg,
    )
    if progress is not None and not isinstance(progress, bool):
        raise ParameterError(f"progress must be True, False or None, not {progress!r}", "progress")
    chunks = split_accessions(request.accessions, check_chunk_size(chunk_size))
    path = resolve_dest(dest)
    base = resolve_base_url(base_url)
    key = resolve_api_key(api_key)

    if taxon is not None:
        if request.taxons:
            raise ParameterError(
                "taxons= filters an accession download; with taxon= give only one taxon",
                "taxons",
            )
        url = request.taxon_url(base, taxon_text("taxon", taxon))
    client = Client(base, key, retry_policy or RetryPolicy())
    try:
        if taxon is not None:
            return fetch(client, "GET", url, None, path, progress)
        if len(chunks) > 1:
            parts = [replace(request, accessions=chunk) for chunk in chunks]
            return fetch_chunks(client, parts, base, path, progress)
        method, url, body = request.http(base)
        return fetch(client, method, url, body, path, progress)
    finally:
        client.close()
