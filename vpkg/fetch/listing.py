"""Paged virus data reports: list the records of a taxon, or of accessions, as package JSON.

Three endpoints (``../shared/ncbi/api.md`` section 3.4):
``GET /virus/taxon/{taxon}/dataset_report``, ``GET /virus/accession/{acc}/dataset_report``
and, for accession lists too long for a URL, ``POST /virus``. GET filters carry the
``filter.`` prefix (``filter.host=9606``); the POST body nests them under ``filter``.
Pages are requested with ``page_size`` (at most 1000) and ``page_token`` = the previous
page's ``next_page_token`` until it is empty, every other parameter unchanged. Each page
goes through the download `Client`: the shared rate limiter, retries (429 with
``Retry-After``, 5xx, cut connections) and the API key in the ``api-key`` header only.

REST records are snake_case (``update_date``); package members are camelCase
(``updateDate``). `package_keys` renames every key by protobuf's ``json_name`` rule (drop
each ``_``, upper-case the next letter), so a record reads like its ``data_report.jsonl``
line.

>>> package_keys({"update_date": "2024-01-01T00:00:00Z", "host": {"tax_id": 9606}})
{'updateDate': '2024-01-01T00:00:00Z', 'host': {'taxId': 9606}}
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from urllib.parse import quote, urlencode

import requests

from vpkg.errors import DownloadError, ParameterError
from vpkg.fetch.params import (
    GET_URL_LIMIT,
    DownloadRequest,
    build_request,
    parse_accessions,
    resolve_api_key,
    resolve_base_url,
    taxon_text,
)
from vpkg.fetch.session import Client, RetryPolicy
from vpkg.fetch.transfer import http_error

log = logging.getLogger("vpkg.fetch")

CONTENT = ("COMPLETE", "ACCESSIONS_ONLY")
MAX_PAGE_SIZE = 1000
#: Filters of `DownloadRequest` that the report endpoints take (as ``filter.<name>``).
FILTERS = (
    "refseq_only", "annotated_only", "released_since", "updated_since", "host",
    "pangolin_classification", "geo_location", "usa_state", "complete_only",
)
JSON = {"Accept": "application/json"}
_CAMEL = re.compile(r"_([a-z0-9])")


def package_keys(value):
    """``value`` (a REST record, or any part of one) with camelCase keys, recursively."""
    if isinstance(value, dict):
        return {_CAMEL.sub(lambda m: m.group(1).upper(), k): package_keys(v)
                for k, v in value.items()}
    if isinstance(value, list):
        return [package_keys(v) for v in value]
    return value


@dataclass(frozen=True)
class ReportQuery:
    """One listing: a taxon or accessions, validated filters, content and page size."""

    taxon: str | None = None
    accessions: tuple[str, ...] = ()
    filters: DownloadRequest = field(default_factory=lambda: DownloadRequest(()))
    returned_content: str = "COMPLETE"
    page_size: int = MAX_PAGE_SIZE

    def _filters(self) -> list[tuple[str, object]]:
        pairs = [(name, getattr(self.filters, name)) for name in FILTERS]
        return [(k, v) for k, v in pairs if v not in (None, False)]

    def _query(self, page_token: str | None) -> str:
        pairs = [(f"filter.{k}", _wire(v)) for k, v in self._filters()]
        pairs += [("returned_content", self.returned_content),
                  ("page_size", str(self.page_size))]
        if page_token:
            pairs.append(("page_token", page_token))
        return urlencode(pairs, safe=":", quote_via=quote)

    def http(self, base_url: str, page_token: str | None = None) -> tuple[str, str, dict | None]:
        """(method, url, JSON body) of one page."""
        if self.taxon is not None:
            path = f"/virus/taxon/{quote(self.taxon, safe='')}/dataset_report"
            return "GET", f"{base_url}{path}?{self._query(page_token)}", None
        path = quote(",".join(self.accessions), safe=",")
        url = f"{base_url}/virus/accession/{path}/dataset_report?{self._query(page_token)}"
        if len(url) <= GET_URL_LIMIT:
            return "GET", url, None
        body: dict = {
            "filter": {"accessions": list(self.accessions), **dict(self._filters())},
            "returned_content": self.returned_content,
            "page_size": self.page_size,
        }
        if page_token:
            body["page_token"] = page_token
        return "POST", f"{base_url}/virus", body

    def parts(self) -> list[ReportQuery]:
        """The query cut into listings of at most 1000 accessions each (as NCBI's CLI does)."""
        if self.taxon is not None or len(self.accessions) <= MAX_PAGE_SIZE:
            return [self]
        step = MAX_PAGE_SIZE
        return [replace(self, accessions=self.accessions[i:i + step])
                for i in range(0, len(self.accessions), step)]

    def label(self) -> str:
        if self.taxon is not None:
            return f"taxon {self.taxon!r}"
        return f"{len(self.accessions):,} accession(s)"


@dataclass
class ListingStats:
    """What listings cost: requests made (retries included) and response bytes as received
    (compressed, when the server sent them gzip-encoded)."""

    requests: int = 0
    bytes: int = 0
    records: int = 0


def make_query(
    taxon: str | int | None = None,
    accessions: str | Iterable[str] | None = None,
    *,
    returned_content: str = "COMPLETE",
    page_size: int = MAX_PAGE_SIZE,
    **filters,
) -> ReportQuery:
    """A validated `ReportQuery`; ``filters`` are `vpkg.download`'s filter names.

    Raises
    ------
    ParameterError
        For a bad filter, content, page size, or neither/both of taxon and accessions.
    """
    if (taxon is None) == (accessions is None):
        raise ParameterError("give a taxon or accessions to list (one of them)", "taxon")
    unknown = sorted(set(filters) - set(FILTERS))
    if unknown:
        raise ParameterError(
            f"unknown listing filter(s): {', '.join(unknown)}; allowed: {', '.join(FILTERS)}",
            unknown[0],
        )
    content = returned_content.upper() if isinstance(returned_content, str) else None
    if content not in CONTENT:
        raise ParameterError(
            f"returned_content: {returned_content!r} is not one of {', '.join(CONTENT)}",
            "returned_content",
        )
    if (not isinstance(page_size, int) or isinstance(page_size, bool)
            or not 1 <= page_size <= MAX_PAGE_SIZE):
        raise ParameterError(
            f"page_size must be a whole number from 1 to {MAX_PAGE_SIZE}, not {page_size!r}",
            "page_size",
        )
    return ReportQuery(
        taxon=None if taxon is None else taxon_text("taxon", taxon),
        accessions=() if accessions is None else parse_accessions(accessions),
        filters=build_request(None, **filters),
        returned_content=content,
        page_size=page_size,
    )


def iter_reports(
    client: Client,
    query: ReportQuery,
    stats: ListingStats | None = None,
    on_page: Callable[[int, int | None], None] | None = None,
) -> Iterator[dict]:
    """Every record of ``query``, page after page, with package (camelCase) keys.

    ``on_page(records_in_page, total_count)`` is called after each page (for a progress bar).

    Raises
    ------
    DownloadError
        On an HTTP error (an unknown taxon says so), a page that is not a report page, or a
        listing whose record count differs from its ``total_count`` (records changed while
        paging: run again).
    """
    stats = stats if stats is not None else ListingStats()
    for part in query.parts():
        token: str | None = None
        seen, total, first = 0, None, True
        while True:
            page = _page(client, part, token, stats, first)
            reports = page.get("reports") or []
            if not isinstance(reports, list):
                raise DownloadError(f"listing {part.label()}: 'reports' is not a list")
            if first and page.get("total_count") is not None:
                total = int(page["total_count"])
            first = False
            seen += len(reports)
            stats.records += len(reports)
            for record in reports:
                yield package_keys(record)
            if on_page is not None:
                on_page(len(reports), total)
            next_token = page.get("next_page_token") or None
            if next_token is not None and (next_token == token or not reports):
                raise DownloadError(
                    f"listing {part.label()}: NCBI Datasets repeated page token "
                    f"{next_token[:40]!r}; try again later"
                )
            if next_token is None:
                break
            token = next_token
        if total is not None and seen != total:
            raise DownloadError(
                f"listing {part.label()} gave {seen:,} records where NCBI announced "
                f"{total:,} (records changed while paging); nothing was changed; run again"
            )


def count_reports(
    client: Client, query: ReportQuery, stats: ListingStats | None = None
) -> int | None:
    """How many records ``query`` lists: the ``total_count`` of a one-record page.

    One small request, where listing everything takes one page per 1000 records. ``None``
    when NCBI's page carries no ``total_count`` (the caller then lists in full).

    Raises
    ------
    DownloadError
        As `iter_reports` (an unknown taxon says so).
    """
    stats = stats if stats is not None else ListingStats()
    if len(query.parts()) > 1:
        return None
    page = _page(client, replace(query, page_size=1), None, stats, True)
    total = page.get("total_count")
    if isinstance(total, bool) or not isinstance(total, int | str):
        return None
    return int(total) if str(total).isdigit() else None


def _page(
    client: Client, query: ReportQuery, token: str | None, stats: ListingStats, first: bool
) -> dict:
    """One page as parsed JSON, requested again while its body breaks off or is not JSON."""
    method, url, body = query.http(client.base_url, token)
    client.restart_budget()
    failures = 0
    while True:
        before = client.remaining
        response = client.send(method, url, json=body, headers=JSON)
        stats.requests += before - client.remaining
        try:
            if response.status_code != 200:
                error = http_error(client, response, method)
                if first and query.taxon is not None and response.status_code in (400, 404):
                    said = f": {error.ncbi_message}" if error.ncbi_message else ""
                    raise DownloadError(
                        f"unknown taxon {query.taxon!r}? NCBI Datasets answered HTTP "
                        f"{error.status} to the listing of that taxon{said} (check the taxid "
                        "or name, e.g. at https://www.ncbi.nlm.nih.gov/taxonomy)",
                        status=error.status, ncbi_message=error.ncbi_message,
                    )
                raise error
            try:
                raw = response.content
                # bytes on the wire: the compressed size when the page came gzip-encoded
                tell = getattr(response.raw, "tell", None)
                wire = tell() if callable(tell) else 0
                stats.bytes += wire if isinstance(wire, int) and wire > 0 else len(raw)
                page = json.loads(raw)
                problem = None if isinstance(page, dict) else "a page that is not a JSON object"
            except requests.RequestException as exc:
                problem, page = f"the listing broke off ({type(exc).__name__})", None
            except ValueError:
                problem, page = "a page that is not JSON", None
        finally:
            response.close()
        if problem is None:
            return page
        failures += 1
        if client.remaining <= 0:
            raise DownloadError(
                f"listing {query.label()}: no valid page after {client.used} attempt(s); "
                f"last problem: {problem}; try again later"
            )
        log.info("NCBI Datasets: %s; requesting the page again", problem)
        client.pause(failures)


def list_reports(
    taxon: str | int | None = None,
    accessions: str | Iterable[str] | None = None,
    *,
    returned_content: str = "COMPLETE",
    page_size: int = MAX_PAGE_SIZE,
    api_key: str | None = None,
    base_url: str | None = None,
    retry_policy: RetryPolicy | None = None,
    **filters,
) -> list[dict]:
    """The data reports of a taxon or of accessions, with package (camelCase) keys.

    Parameters
    ----------
    taxon, accessions
        One of them: an NCBI taxid or name, or nucleotide accessions.
    returned_content
        ``COMPLETE`` (whole reports) or ``ACCESSIONS_ONLY`` (``{"accession": ...}`` only).
    page_size
        Records per page, 1 to 1000.
    api_key, base_url, retry_policy
        As for `vpkg.download`.
    **filters
        ``refseq_only``, ``annotated_only``, ``complete_only``, ``released_since``,
        ``updated_since``, ``host``, ``pangolin_classification``, ``geo_location``,
        ``usa_state``, validated as for `vpkg.download`.

    Returns
    -------
    list[dict]
        One dict per record, keys as in ``data_report.jsonl``.

    Examples
    --------
    >>> list_reports(taxon="1335626", returned_content="ACCESSIONS_ONLY")  # doctest: +SKIP
    [{'accession': 'NC_019843.3'}, ...]
    """
    query = make_query(taxon, accessions, returned_content=returned_content,
                       page_size=page_size, **filters)
    base = resolve_base_url(base_url)
    client = Client(base, resolve_api_key(api_key), retry_policy or RetryPolicy())
    try:
        return list(iter_reports(client, query))
    finally:
        client.close()


def _wire(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
