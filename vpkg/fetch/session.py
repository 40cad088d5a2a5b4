"""HTTP to NCBI Datasets: headers, API key, client-side rate limit, retries with backoff.

One `Client` serves one download. It spends a budget of ``RetryPolicy.attempts`` HTTP
requests, shared by urllib3's retries (429, 5xx except 501, dropped connections) and the
caller's own retries (a 200 whose zip fails verification); each chunk of a split download
gets a fresh budget. The API key travels only in the ``api-key`` header; it is never put in
a URL, a log record or an error message, and it is dropped when a redirect leaves the host.

Logging (logger ``vpkg.fetch``; `vpkg download` shows it on stderr): one INFO record per
retry (attempt, reason, wait), one DEBUG record per HTTP request (method, URL, status,
bytes; see `request_line`).
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import InvalidHeader
from urllib3.util.retry import RequestHistory, Retry

from vpkg.errors import DownloadError
from vpkg.version import __version__

log = logging.getLogger("vpkg.fetch")

API_KEY_HEADER = "api-key"
RATE_WITHOUT_KEY = 3.0  # requests per second NCBI allows without an API key
RATE_WITH_KEY = 10.0
MARGIN = 1.05  # space requests 5% wider than the limit, so that jitter never crosses it
# 429, and every 5xx except 501 Not Implemented (a request that will never succeed)
RETRY_STATUSES = frozenset({429, *range(500, 600)} - {501})


@dataclass(frozen=True)
class RetryPolicy:
    """How long to wait and how often to try again.

    Parameters
    ----------
    attempts
        Total HTTP requests one download may make, the first one included.
    backoff_factor, backoff_max
        urllib3's backoff: the first retry goes at once, retry ``n`` (2, 3, ...) waits
        ``min(backoff_max, backoff_factor * 2**(n-1))`` seconds, unless the server sent
        ``Retry-After``. The rate limiter spaces every request, retries included.
    retry_after_max
        Upper bound on a ``Retry-After`` wait, in seconds.
    timeout
        (connect, read) timeouts in seconds; read is the longest silence between bytes.
    sleep, clock
        Injected for tests: ``time.sleep`` and ``time.monotonic`` by default.
    """

    attempts: int = 10
    backoff_factor: float = 1.0
    backoff_max: float = 30.0
    retry_after_max: float = 300.0
    timeout: tuple[float, float] = (30.0, 300.0)
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic

    def backoff(self, retry_number: int) -> float:
        """Seconds urllib3 waits before retry number ``retry_number`` (1-based)."""
        failed = RequestHistory("GET", None, None, None, None)
        retry = Retry(backoff_factor=self.backoff_factor, backoff_max=self.backoff_max,
                      history=(failed,) * retry_number)
        return retry.get_backoff_time()


class RateLimiter:
    """Spaces requests at least ``margin/rate`` seconds apart; thread-safe."""

    def __init__(
        self,
        rate: float,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
        margin: float = 1.0,
    ):
        self.rate, self.interval = rate, margin / rate
        self._clock, self._sleep = clock, sleep
        self._next = float("-inf")
        self._lock = threading.Lock()

    def wait(self) -> float:
        """Block until the next request may go; return the seconds waited."""
        with self._lock:
            now = self._clock()
            start = max(now, self._next)
            self._next = start + self.interval
        delay = start - now
        if delay > 0:
            self._sleep(delay)
        return delay


_LIMITERS: dict[tuple, RateLimiter] = {}
_LIMITERS_LOCK = threading.Lock()


def limiter_for(base_url: str, has_key: bool, policy: RetryPolicy) -> RateLimiter:
    """The process-wide limiter for one server (3 rps without a key, 10 with one)."""
    rate = RATE_WITH_KEY if has_key else RATE_WITHOUT_KEY
    key = (urlsplit(base_url).netloc, rate, policy.clock, policy.sleep)
    with _LIMITERS_LOCK:
        if key not in _LIMITERS:
            _LIMITERS[key] = RateLimiter(rate, policy.clock, policy.sleep, MARGIN)
        return _LIMITERS[key]


class _Retry(Retry):
    """urllib3 Retry that waits through the policy's sleep, then the rate limiter."""

    policy: RetryPolicy = RetryPolicy()
    limiter: RateLimiter | None = None
    #: HTTP requests the client made before this one (for the attempt numbers logged)
    done: int = 0

    def new(self, **kw) -> _Retry:
        retry = super().new(**kw)
        retry.policy, retry.limiter, retry.done = self.policy, self.limiter, self.done
        return retry

    def increment(self, method=None, url=None, response=None, error=None, _pool=None,
                  _stacktrace=None):
        if log.isEnabledFor(logging.DEBUG):
            where = f"{_pool.scheme}://{_pool.host}:{_pool.port}{url}" if _pool else url
            size = response.headers.get("Content-Length") if response is not None else None
            status = response.status if response is not None else None
            log.debug("%s", request_line(method, where, status, size, error))
        return super().increment(method, url, response, error, _pool, _stacktrace)

    def sleep(self, response=None) -> None:
        wait = None
        if response is not None and self.respect_retry_after_header:
            try:
                wait = self.get_retry_after(response)
            except InvalidHeader:
                wait = None
        if wait is None:
            wait = self.get_backoff_time()
        wait = min(wait, self.policy.retry_after_max)
        last = self.history[-1] if self.history else None
        reason = f"HTTP {last.status}" if last and last.status else _reason(last and last.error)
        attempt = self.done + len(self.history)
        log.info("NCBI Datasets: attempt %d of %d failed (%s); retrying in %.1f s",
                 attempt, self.policy.attempts, reason, wait)
        if wait > 0:
            self.policy.sleep(wait)
        if self.limiter is not None:
            self.limiter.wait()


class _Session(requests.Session):
    """A Session that drops the ``api-key`` header when a redirect leaves the host."""

    def rebuild_auth(self, prepared_request, response) -> None:
        if API_KEY_HEADER in prepared_request.headers and self.should_strip_auth(
            response.request.url, prepared_request.url
        ):
            del prepared_request.headers[API_KEY_HEADER]
        super().rebuild_auth(prepared_request, response)


class Client:
    """HTTP client for one download, with a shared budget of attempts."""

    def __init__(self, base_url: str, api_key: str | None, policy: RetryPolicy):
        if policy.attempts < 1:
            raise ValueError("RetryPolicy.attempts must be at least 1")
        self.base_url, self.policy = base_url, policy
        self.remaining = policy.attempts
        self.limiter = limiter_for(base_url, api_key is not None, policy)
        self._secret = api_key
        self._adapter = HTTPAdapter(max_retries=0)
        self.session = _Session()
        self.session.headers.update(
            {"User-Agent": f"vpkg/{__version__}", "Accept": "application/zip"}
        )
        if api_key:
            self.session.headers[API_KEY_HEADER] = api_key
        self.session.mount("http://", self._adapter)
        self.session.mount("https://", self._adapter)

    def restart_budget(self) -> None:
        """Give the next request (one chunk of a split download) a full budget of attempts."""
        self.remaining = self.policy.attempts

    @property
    def used(self) -> int:
        """HTTP requests made so far."""
        return self.policy.attempts - self.remaining

    def send(
        self, method: str, url: str, json: dict | None = None, headers: dict | None = None
    ) -> requests.Response:
        """Send one request (retrying inside the budget) and return the streamed response.

        ``headers`` are sent on top of the session's (e.g. ``Accept: application/json``).

        Raises
        ------
        DownloadError
            When the server cannot be reached within the budget.
        """
        retry = _Retry(
            total=self.remaining - 1,
            allowed_methods=frozenset({"GET", "POST"}),
            status_forcelist=RETRY_STATUSES,
            raise_on_status=False,
            respect_retry_after_header=True,
            backoff_factor=self.policy.backoff_factor,
            backoff_max=self.policy.backoff_max,
        )
        retry.policy, retry.limiter, retry.done = self.policy, self.limiter, self.used
        self._adapter.max_retries = retry
        self.limiter.wait()
        try:
            response = self.session.request(
                method, url, json=json, headers=headers, stream=True,
                timeout=self.policy.timeout,
            )
        except requests.RequestException as exc:
            self.remaining = 0
            raise DownloadError(
                f"could not download from {urlsplit(url).netloc} after {self.policy.attempts} "
                f"attempt(s): {self.scrub(_reason(exc))}; check your network connection, or "
                "the base URL, and try again"
            ) from exc
        history = response.raw.retries.history if response.raw.retries else ()
        self.remaining -= 1 + len(history)
        return response

    def pause(self, retry_number: int) -> None:
        """Wait before retrying a request the caller rejected (e.g. a corrupt zip)."""
        wait = self.policy.backoff(retry_number)
        if wait > 0:
            self.policy.sleep(wait)

    def scrub(self, text: str) -> str:
        """``text`` with the API key, should it appear, replaced by ``***``."""
        return text.replace(self._secret, "***") if self._secret else text

    def close(self) -> None:
        self.session.close()


def request_line(method: str, url: str, status: int | None, size: int | str | None,
                 error: BaseException | None = None) -> str:
    """One request as logged with ``-v``: ``GET https://.../download -> HTTP 200, 1,234 bytes``.

    The API key never appears: it travels in a header, not in the URL.
    """
    if status is None:
        return f"{method} {url} -> no response ({_reason(error)})"
    text = f"{method} {url} -> HTTP {status}"
    if size is not None and str(size).isdigit():
        text += f", {int(size):,} bytes"
    return text


def _reason(exc: BaseException | None) -> str:
    """The innermost useful reason of a requests/urllib3 error, without URL or object reprs."""
    err = exc
    for _ in range(10):  # unwrap ConnectionError -> MaxRetryError -> ProtocolError -> ...
        inner = getattr(err, "reason", None)
        if not isinstance(inner, BaseException) and err is not None and err.args:
            inner = err.args[-1] if isinstance(err.args[-1], BaseException) else None
        if inner is None:
            break
        err = inner
    if err is None:
        return "connection problem"
    text = re.sub(r"^<[^>]*>: ", "", str(err)) or type(err).__name__
    return text if len(text) < 200 else text[:200] + "..."
