"""Validate `vpkg.download` parameters and turn them into NCBI Datasets v2 wire form.

Wire rules (see docs/download.md): bare parameter names (no ``filter.`` prefix), arrays as
repeated query keys (``include_sequence=GENOME&include_sequence=CDS``), booleans as
``true``/``false``, timestamps as RFC 3339 (``2025-01-15T00:00:00Z``). Everything is checked
here, before any request, and a bad value raises `ParameterError` naming the parameter and
the values it accepts.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from urllib.parse import quote, urlencode, urlsplit

from vpkg.errors import ParameterError

DEFAULT_BASE_URL = "https://api.ncbi.nlm.nih.gov/datasets/v2"
BASE_URL_ENV = "VPKG_BASE_URL"
API_KEY_ENV = "NCBI_API_KEY"

SEQUENCE_TYPES = ("GENOME", "CDS", "PROTEIN", "NONE")
REPORT_TYPES = ("DATASET_REPORT", "ANNOTATION", "BIOSAMPLE_REPORT")
REPORT_ALIASES = {"BIOSAMPLE": "BIOSAMPLE_REPORT"}  # the spec's own example uses BIOSAMPLE
DEFAULT_INCLUDE_SEQUENCE = ("GENOME",)

# USPS codes: the 50 states, DC and the inhabited territories.
USA_STATES = tuple(
    "AK AL AR AS AZ CA CO CT DC DE FL GA GU HI IA ID IL IN KS KY LA MA MD ME MI MN MO MP MS "
    "MT NC ND NE NH NJ NM NV NY OH OK OR PA PR RI SC SD TN TX UT VA VI VT WA WI WV WY".split()
)

ACCESSION_RE = re.compile(r"[A-Za-z][A-Za-z0-9_]*[0-9](\.[0-9]+)?")
DAY_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
# NCBI: "The 'GET' version of download is limited by the size of the GET URL (2KB)"
GET_URL_LIMIT = 2000

#: ``--include`` words -> (download parameter, NCBI value), for `vpkg download` and `vpkg sync`.
INCLUDE = {
    "genome": ("include_sequence", "GENOME"),
    "cds": ("include_sequence", "CDS"),
    "protein": ("include_sequence", "PROTEIN"),
    "none": ("include_sequence", "NONE"),
    "annotation": ("aux_report", "ANNOTATION"),
    "biosample": ("aux_report", "BIOSAMPLE_REPORT"),
}


@dataclass(frozen=True)
class DownloadRequest:
    """A validated download request, in NCBI's vocabulary (values already normalised)."""

    accessions: tuple[str, ...]
    include_sequence: tuple[str, ...] = DEFAULT_INCLUDE_SEQUENCE
    aux_report: tuple[str, ...] = ()
    refseq_only: bool = False
    annotated_only: bool = False
    complete_only: bool = False
    released_since: str | None = None
    updated_since: str | None = None
    host: str | None = None
    pangolin_classification: str | None = None
    geo_location: str | None = None
    usa_state: str | None = None
    taxons: tuple[str, ...] = ()
    use_psg: bool | None = None

    def _fields(self) -> list[tuple[str, object]]:
        """(wire name, value) in the spec's order, leaving out what is not set."""
        pairs: list[tuple[str, object]] = [
            ("taxons", list(self.taxons)),
            ("refseq_only", self.refseq_only or None),
            ("annotated_only", self.annotated_only or None),
            ("released_since", self.released_since),
            ("updated_since", self.updated_since),
            ("host", self.host),
            ("pangolin_classification", self.pangolin_classification),
            ("geo_location", self.geo_location),
            ("usa_state", self.usa_state),
            ("complete_only", self.complete_only or None),
            ("include_sequence", list(self.include_sequence)),
            ("aux_report", list(self.aux_report)),
            ("use_psg", self.use_psg),
        ]
        return [(k, v) for k, v in pairs if v is not None and v != []]

    def query(self) -> list[tuple[str, str]]:
        """Query pairs for the GET endpoint; arrays become repeated keys."""
        out: list[tuple[str, str]] = []
        for key, value in self._fields():
            for item in value if isinstance(value, list) else [value]:
                out.append((key, _wire_scalar(item)))
        return out

    def body(self) -> dict:
        """JSON body (``v2VirusDatasetRequest``) for ``POST /virus/genome/download``."""
        return {"accessions": list(self.accessions), **dict(self._fields())}

    def get_url(self, base_url: str) -> str:
        """Full URL of ``GET /virus/accession/{accessions}/genome/download``."""
        path = quote(",".join(self.accessions), safe=",")
        query = urlencode(self.query(), safe=":", quote_via=quote)  # %20, never '+'
        return f"{base_url}/virus/accession/{path}/genome/download?{query}"

    def http(self, base_url: str) -> tuple[str, str, dict | None]:
        """(method, url, JSON body): GET while its URL fits in 2 KB, else one POST.

        One POST carries the whole list; `vpkg.download` splits lists longer than its
        ``chunk_size`` into several requests (see `vpkg.fetch.chunked`).
        """
        url = self.get_url(base_url)
        if len(url) <= GET_URL_LIMIT:
            return "GET", url, None
        return self.post(base_url)

    def taxon_url(self, base_url: str, taxon: str) -> str:
        """Full URL of ``GET /virus/taxon/{taxon}/genome/download`` (no ``taxons`` there)."""
        query = [(k, v) for k, v in self.query() if k != "taxons"]
        encoded = urlencode(query, safe=":", quote_via=quote)
        return f"{base_url}/virus/taxon/{quote(taxon, safe='')}/genome/download?{encoded}"

    def post(self, base_url: str) -> tuple[str, str, dict]:
        """(method, url, JSON body) of ``POST /virus/genome/download``."""
        return "POST", f"{base_url}/virus/genome/download", self.body()


def _wire_scalar(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def build_request(accessions: str | Iterable[str] | None, **params) -> DownloadRequest:
    """Validate every download parameter and return the normalised `DownloadRequest`.

    ``accessions=None`` gives a request without accessions (a taxon download or a listing).

    Raises
    ------
    ParameterError
        Naming the first bad parameter and the values it accepts.
    """
    unknown = sorted(set(params) - set(DownloadRequest.__dataclass_fields__))
    if unknown:
        raise ParameterError(f"unknown download parameter(s): {', '.join(unknown)}", unknown[0])
    values = {
        "accessions": () if accessions is None else parse_accessions(accessions),
        "include_sequence": _include_sequence(
            params.get("include_sequence", DEFAULT_INCLUDE_SEQUENCE)
        ),
        "aux_report": _aux_report(params.get("aux_report")),
        "released_since": to_timestamp("released_since", params.get("released_since")),
        "updated_since": to_timestamp("updated_since", params.get("updated_since")),
        "usa_state": _usa_state(params.get("usa_state")),
        "taxons": _text_list("taxons", params.get("taxons")),
        "use_psg": _flag("use_psg", params.get("use_psg"), optional=True),
    }
    for name in ("refseq_only", "annotated_only", "complete_only"):
        values[name] = _flag(name, params.get(name, False))
    for name in ("host", "pangolin_classification", "geo_location"):
        values[name] = _text(name, params.get(name))
    return DownloadRequest(**values)


# ---- accessions ---------------------------------------------------------------------------
def parse_accessions(accessions: str | Iterable[str]) -> tuple[str, ...]:
    """Accessions as a de-duplicated tuple; a string may hold several, comma-separated."""
    if isinstance(accessions, str):
        items = [accessions]
    elif isinstance(accessions, Iterable):
        items = list(accessions)
    else:
        raise ParameterError(
            f"accessions must be a string or an iterable of strings, not "
            f"{type(accessions).__name__}",
            "accessions",
        )
    out: dict[str, None] = {}
    for item in items:
        if not isinstance(item, str):
            raise ParameterError(
                f"accessions must be strings; got {item!r} ({type(item).__name__})", "accessions"
            )
        for part in item.split(","):
            part = part.strip()
            if not part:
                continue
            if not ACCESSION_RE.fullmatch(part):
                raise ParameterError(
                    f"accessions: {part[:60]!r} is not a nucleotide accession "
                    "(expected letters, digits and '_' with an optional .version, "
                    "e.g. NC_045512.2 or OQ282284.1)",
                    "accessions",
                )
            out[part] = None
    if not out:
        raise ParameterError(
            "accessions: no accession given; pass at least one, e.g. 'NC_045512.2'", "accessions"
        )
    return tuple(out)


# ---- enums --------------------------------------------------------------------------------
def _enum_list(name: str, value, allowed: tuple[str, ...], aliases: dict[str, str]):
    if isinstance(value, str):
        items = value.split(",")
    elif isinstance(value, Iterable):
        items = list(value)
    else:
        raise ParameterError(
            f"{name} must be a string or a list of strings from: {', '.join(allowed)}", name
        )
    out: dict[str, None] = {}
    for item in items:
        if not isinstance(item, str):
            raise ParameterError(
                f"{name}: {item!r} is not one of {', '.join(allowed)}", name
            )
        key = item.strip().upper()
        key = aliases.get(key, key)
        if key not in allowed:
            extra = f" (or {', '.join(aliases)})" if aliases else ""
            raise ParameterError(
                f"{name}: {item.strip()!r} is not one of {', '.join(allowed)}{extra}", name
            )
        out[key] = None
    return tuple(out)


def _include_sequence(value) -> tuple[str, ...]:
    if value is None:
        raise ParameterError(
            "include_sequence=None is ambiguous: pass 'NONE' for no sequence files, or leave "
            f"it out for the default {list(DEFAULT_INCLUDE_SEQUENCE)}; allowed values: "
            f"{', '.join(SEQUENCE_TYPES)}",
            "include_sequence",
        )
    kinds = _enum_list("include_sequence", value, SEQUENCE_TYPES, {})
    if not kinds:
        raise ParameterError(
            f"include_sequence is empty; give one or more of {', '.join(SEQUENCE_TYPES)}",
            "include_sequence",
        )
    if "NONE" in kinds and len(kinds) > 1:
        others = ", ".join(k for k in kinds if k != "NONE")
        raise ParameterError(
            f"include_sequence: NONE cannot be combined with {others}", "include_sequence"
        )
    return kinds


def _aux_report(value) -> tuple[str, ...]:
    if value is None:
        return ()
    return _enum_list("aux_report", value, REPORT_TYPES, REPORT_ALIASES)


def _usa_state(value) -> str | None:
    if value is None:
        return None
    state = value.strip().upper() if isinstance(value, str) else None
    if state not in USA_STATES:
        raise ParameterError(
            f"usa_state: {value!r} is not a two-letter U.S. state code; allowed: "
            f"{', '.join(USA_STATES)}",
            "usa_state",
        )
    return state


# ---- scalars ------------------------------------------------------------------------------
def _flag(name: str, value, optional: bool = False) -> bool | None:
    if value is None and optional:
        return None
    if not isinstance(value, bool):
        allowed = "True, False or None" if optional else "True or False"
        raise ParameterError(f"{name} must be {allowed}, not {value!r}", name)
    return value


def _text(name: str, value) -> str | None:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)  # a taxonomy id, e.g. host=9606
    if not isinstance(value, str):
        raise ParameterError(f"{name} must be a string, not {type(value).__name__}", name)
    text = value.strip()
    if not text or not text.isprintable():
        raise ParameterError(
            f"{name}: {value!r} must be non-empty printable text (or None for no filter)", name
        )
    return text


def taxon_text(name: str, value) -> str:
    """A taxon (taxid or name) as stripped printable text."""
    text = _text(name, value)
    if text is None:
        raise ParameterError(f"{name}: give a taxid or a taxon name, e.g. 2697049", name)
    return text


def _text_list(name: str, value) -> tuple[str, ...]:
    if value is None:
        return ()
    items = [value] if isinstance(value, (str, int)) else value
    if not isinstance(items, Iterable):
        raise ParameterError(f"{name} must be a string, a taxid or a list of them", name)
    return tuple(dict.fromkeys(_text(name, item) for item in items))


def to_timestamp(name: str, value) -> str | None:
    """A str / date / datetime as an RFC 3339 UTC timestamp, e.g. ``2025-01-15T00:00:00Z``.

    Naive datetimes are taken as UTC; aware ones are converted to UTC.
    """
    if value is None:
        return None
    if isinstance(value, str):
        value = _parse_time_text(name, value)
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC)
        v = value
        fraction = f".{v.microsecond:06d}" if v.microsecond else ""
        return (
            f"{v.year:04d}-{v.month:02d}-{v.day:02d}"
            f"T{v.hour:02d}:{v.minute:02d}:{v.second:02d}{fraction}Z"
        )
    if isinstance(value, date):
        return f"{value.isoformat()}T00:00:00Z"
    raise ParameterError(
        f"{name} must be a 'YYYY-MM-DD' string, a datetime.date or a datetime.datetime, "
        f"not {type(value).__name__}",
        name,
    )


def _parse_time_text(name: str, text: str) -> date | datetime:
    raw = text.strip()
    try:
        if DAY_RE.fullmatch(raw):
            return date.fromisoformat(raw)
        if len(raw) > 10 and raw[10] in "Tt ":
            iso = raw[:10] + "T" + raw[11:]
            if iso[-1] in "Zz":
                iso = iso[:-1] + "+00:00"
            return datetime.fromisoformat(iso)
    except ValueError:
        pass
    raise ParameterError(
        f"{name}: {text!r} is not a date; use 'YYYY-MM-DD' (e.g. '2025-01-15') or an ISO 8601 "
        "timestamp (e.g. '2025-01-15T08:30:00Z')",
        name,
    )


# ---- connection settings ------------------------------------------------------------------
def resolve_api_key(api_key: str | None) -> str | None:
    """The API key from ``api_key=`` or ``$NCBI_API_KEY`` (None when neither is set).

    The key is never echoed in an error message.
    """
    source = "api_key"
    if api_key is None:
        api_key, source = os.environ.get(API_KEY_ENV), f"${API_KEY_ENV}"
    if api_key is None:
        return None
    if not isinstance(api_key, str):
        raise ParameterError(f"{source} must be a string", "api_key")
    key = api_key.strip()
    if not key:
        return None
    if not all(33 <= ord(ch) < 127 for ch in key):
        raise ParameterError(
            f"{source} contains spaces, control or non-ASCII characters; copy the key again "
            "from your NCBI account settings",
            "api_key",
        )
    return key


def resolve_base_url(base_url: str | None) -> str:
    """``base_url=``, else ``$VPKG_BASE_URL``, else the NCBI Datasets v2 URL; no trailing /."""
    source = "base_url"
    if base_url is None:
        base_url, source = os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL, f"${BASE_URL_ENV}"
    if not isinstance(base_url, str):
        raise ParameterError("base_url must be a string such as " + DEFAULT_BASE_URL, "base_url")
    parts = urlsplit(base_url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise ParameterError(
            f"{source}: {base_url!r} is not an http(s) base URL such as {DEFAULT_BASE_URL}",
            "base_url",
        )
    return base_url.strip().rstrip("/")


def resolve_dest(dest: str | os.PathLike) -> Path:
    """The destination path; its folder must exist and it must not be a folder itself."""
    try:
        path = Path(dest).expanduser()
    except TypeError as exc:
        raise ParameterError(f"dest must be a file path, not {dest!r}", "dest") from exc
    if path.is_dir():
        raise ParameterError(
            f"dest: {path} is a directory; give a file name such as {path / 'ncbi_dataset.zip'}",
            "dest",
        )
    if not path.parent.is_dir():
        raise ParameterError(
            f"dest: the folder {path.parent} does not exist; create it first", "dest"
        )
    return path
