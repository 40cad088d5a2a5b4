"""Stream a package to a temporary file beside ``dest``, verify it, then rename it into place.

A 200 response whose zip is truncated or corrupt (a known NCBI failure), or whose stream
breaks off, is requested again within the client's budget of attempts. Whatever happens,
the temporary file is removed and ``dest`` is only ever replaced by a verified package.
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import requests

from vpkg import progress as progress_bars
from vpkg.errors import DownloadError, FormatError, IntegrityError, PackageError
from vpkg.fetch.session import Client, request_line

if TYPE_CHECKING:  # pragma: no cover
    from tqdm import tqdm

log = logging.getLogger("vpkg.fetch")

CHUNK = 1 << 16
ERROR_BODY_LIMIT = 1 << 16
HINTS = {
    400: "check the parameters against docs/download.md",
    403: "the server refused access; if you sent many requests, wait before trying again",
    404: "no records match; check the accessions",
    413: "the request is too large; split the accession list",
    429: "too many requests; wait a minute, or set an API key (10 requests/s instead of 3)",
    501: "the server does not implement this request",
}


def fetch(
    client: Client,
    method: str,
    url: str,
    body: dict | None,
    dest: Path,
    progress: bool | None = None,
) -> Path:
    """Download ``method url`` into ``dest`` atomically and return ``dest``.

    Raises
    ------
    DownloadError
        On an HTTP error (with NCBI's message), or when no verified package arrived within
        the budget of attempts.
    """
    with temporary_beside(dest) as tmp:
        receive(client, method, url, body, tmp, progress, dest.name)
        os.replace(tmp, dest)
    return dest


@contextmanager
def temporary_beside(dest: Path, tag: str = "") -> Iterator[Path]:
    """A new hidden file beside ``dest``, removed on exit unless renamed; a local OSError
    (disk full, no permission) becomes a `DownloadError`, since retrying cannot help."""
    tmp: Path | None = None
    try:
        fd, name = tempfile.mkstemp(
            dir=dest.parent, prefix=f".{dest.name}.{tag + '.' if tag else ''}", suffix=".part"
        )
        os.close(fd)
        tmp = Path(name)
        yield tmp
    except requests.RequestException:
        raise  # a subclass of OSError, but not a file problem
    except OSError as exc:
        raise DownloadError(
            f"cannot write the package in {dest.parent}: {exc.strerror or exc}; check the "
            "folder's permissions and free space"
        ) from exc
    finally:
        if tmp is not None:
            tmp.unlink(missing_ok=True)


def receive(
    client: Client,
    method: str,
    url: str,
    body: dict | None,
    tmp: Path,
    progress: bool | None,
    label: str,
) -> None:
    """Stream the package into ``tmp`` and verify it, requesting it again while it is damaged
    and the client's budget lasts. ``label`` names the progress bar (shown as `bar`)."""
    bar = progress_bars.bar(None, label, progress)
    failures = 0
    with bar:
        while True:
            response = client.send(method, url, json=body)
            try:
                if response.status_code != 200:
                    log.debug("%s", request_line(method, client.scrub(response.url),
                                                 response.status_code,
                                                 response.headers.get("Content-Length")))
                    raise http_error(client, response, method)
                length = response.headers.get("Content-Length", "")
                bar.reset(int(length) if length.isdigit() else None)
                problem = _receive(response, tmp, bar)
                log.debug("%s", request_line(method, client.scrub(response.url), 200,
                                             tmp.stat().st_size))
            finally:
                response.close()
            if problem is None:
                problem = verify(tmp)
            if problem is None:
                return
            failures += 1
            if client.remaining <= 0:
                raise DownloadError(
                    f"no valid package after {client.used} attempt(s); last problem: "
                    f"{client.scrub(problem)}; try again later"
                )
            log.info("NCBI Datasets: attempt %d of %d failed (%s); retrying in %.1f s",
                     client.used, client.policy.attempts, client.scrub(problem),
                     client.policy.backoff(failures))
            client.pause(failures)


def _receive(response: requests.Response, tmp: Path, bar: tqdm) -> str | None:
    """Stream the body into ``tmp``; return a description of what broke, or None."""
    try:
        with open(tmp, "wb") as out:
            for chunk in response.iter_content(CHUNK):
                out.write(chunk)
                bar.update(len(chunk))
    except requests.RequestException as exc:
        return f"the download broke off ({type(exc).__name__})"
    return None


def verify(path: Path) -> str | None:
    """Check every CRC and md5 of the received zip; return what is wrong, or None."""
    from vpkg.container import open_container
    from vpkg.container.integrity import verify as verify_package

    try:
        with open_container(path) as package:  # closed before os.replace (Windows needs it)
            verify_package(package)
    except (PackageError, IntegrityError, FormatError) as exc:
        detail = str(exc).removeprefix(f"{path}: ")
        detail = re.sub(r"[;,] download (it|the package) again$", "", detail)
        return f"received a damaged package ({detail})"
    return None


def http_error(client: Client, response: requests.Response, method: str) -> DownloadError:
    """A `DownloadError` for a non-200 response, carrying NCBI's message."""
    status = response.status_code
    message = ncbi_message(response)
    message = client.scrub(message) if message else None
    tries = f" after {client.used} attempts" if client.used > 1 else ""
    text = f"NCBI Datasets answered HTTP {status} {response.reason or ''}".rstrip()
    text += f" to {method} {_path_of(response.url)}{tries}"
    if message:
        text += f": {message}"
    hint = HINTS.get(status) or ("the server had a problem; try again later" * (status >= 500))
    if hint:
        text += f" ({hint})"
    return DownloadError(text, status=status, ncbi_message=message)


def ncbi_message(response: requests.Response) -> str | None:
    """NCBI's error text: ``message`` (or ``error``) of a JSON body, else the plain text."""
    try:
        raw = response.raw.read(ERROR_BODY_LIMIT, decode_content=True) or b""
    except Exception:  # a broken error body must not hide the status
        return None
    text = raw.decode("utf-8", "replace").strip()
    if not text:
        return None
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict):
        for key in ("message", "error"):
            if isinstance(data.get(key), str) and data[key].strip():
                return data[key].strip()
    if text.lstrip().startswith("<"):
        text = re.sub(r"<[^>]*>", " ", text)
    text = " ".join(text.split())
    return text[:500] + ("..." if len(text) > 500 else "")


def _path_of(url: str) -> str:
    """The URL path, shortened: long accession lists are elided."""
    path = url.split("?", 1)[0].split("://", 1)[-1]
    path = "/" + path.split("/", 1)[1] if "/" in path else "/"
    return path if len(path) <= 120 else path[:80] + "..." + path[-30:]
