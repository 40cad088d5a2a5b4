"""HTTP session: headers, the API key (and where it must never appear), the rate limiter."""

from __future__ import annotations

import logging

import pytest
from ncbi_server import (  # noqa: F401  (fixtures)
    FakeTime,
    NcbiServer,
    drop,
    error,
    fake_time_fixture,
    ncbi_fixture,
    policy_fixture,
    redirect,
    status,
)

import vpkg
from vpkg import __version__
from vpkg.fetch import RetryPolicy
from vpkg.fetch.session import RateLimiter

KEY = "0123456789abcdefSECRETKEY"
SEED = "NC_045512.2"


def test_default_headers(ncbi, tmp_path, policy):
    vpkg.download(SEED, tmp_path / "out.zip", retry_policy=policy)
    headers = ncbi.requests[0].headers
    assert headers["user-agent"] == f"vpkg/{__version__}"
    assert headers["accept"] == "application/zip"
    assert "api-key" not in headers


def test_api_key_argument_goes_in_the_header_only(ncbi, tmp_path, policy):
    vpkg.download(SEED, tmp_path / "out.zip", api_key=KEY, retry_policy=policy)
    record = ncbi.requests[0]
    assert record.headers["api-key"] == KEY
    assert KEY not in record.raw_target
    assert "api_key" not in record.raw_target


def test_api_key_from_environment_and_argument_wins(ncbi, tmp_path, policy, monkeypatch):
    monkeypatch.setenv("NCBI_API_KEY", "from-environment")
    vpkg.download(SEED, tmp_path / "a.zip", retry_policy=policy)
    vpkg.download(SEED, tmp_path / "b.zip", api_key=KEY, retry_policy=policy)
    assert [r.headers["api-key"] for r in ncbi.requests] == ["from-environment", KEY]


def test_api_key_in_post_requests(ncbi, tmp_path, policy):
    accessions = [f"MN{n:06d}.1" for n in range(300)]
    vpkg.download(accessions, tmp_path / "out.zip", api_key=KEY, retry_policy=policy)
    record = ncbi.requests[0]
    assert (record.method, record.headers["api-key"]) == ("POST", KEY)
    assert KEY not in record.body.decode()


def test_api_key_never_in_logs_errors_or_output(ncbi, tmp_path, policy, caplog, capsys):
    caplog.set_level(logging.DEBUG)  # urllib3 logs every request line at DEBUG
    ncbi.script(status(503), drop(), status(429, **{"Retry-After": "1"}), error(400, "bad"))
    with pytest.raises(vpkg.DownloadError) as info:
        vpkg.download(SEED, tmp_path / "out.zip", api_key=KEY, retry_policy=policy, progress=True)
    assert len(ncbi.requests) == 4
    assert all(r.headers["api-key"] == KEY for r in ncbi.requests)
    assert "HTTP 503" in caplog.text  # the retries were logged...
    out, err = capsys.readouterr()
    for text in (caplog.text, str(info.value), repr(info.value), out, err):
        assert KEY not in text  # ...and the key was not
    assert list(tmp_path.iterdir()) == []


def test_api_key_echoed_by_the_server_is_scrubbed(ncbi, tmp_path, policy):
    ncbi.script(error(400, f"API key {KEY} is not valid"))
    with pytest.raises(vpkg.DownloadError) as info:
        vpkg.download(SEED, tmp_path / "out.zip", api_key=KEY, retry_policy=policy)
    assert info.value.ncbi_message == "API key *** is not valid"
    assert KEY not in str(info.value)


def test_api_key_is_dropped_on_a_redirect_to_another_host(ncbi, tmp_path, policy):
    other = NcbiServer().start()
    try:
        target = f"http://localhost:{other.port}/datasets/v2/virus/accession/{SEED}/genome/download"
        ncbi.script(redirect(target + "?include_sequence=GENOME"))
        vpkg.download(SEED, tmp_path / "out.zip", api_key=KEY, retry_policy=policy)
        assert ncbi.requests[0].headers["api-key"] == KEY
        assert len(other.requests) == 1
        assert "api-key" not in other.requests[0].headers
        assert other.requests[0].headers["user-agent"] == f"vpkg/{__version__}"
    finally:
        other.stop()
    assert (tmp_path / "out.zip").read_bytes() == ncbi.package.read_bytes()


# ---- rate limiting -------------------------------------------------------------------------
def test_rate_limiter_spaces_requests():
    clock = FakeTime()
    limiter = RateLimiter(4.0, clock.clock, clock.sleep)
    assert [limiter.wait() for _ in range(3)] == [0.0, 0.25, 0.25]
    clock.now += 10  # idle for a while: the next request goes at once
    assert limiter.wait() == 0.0
    assert clock.sleeps == [0.25, 0.25]


def test_rate_limiter_counts_time_already_passed():
    clock = FakeTime()
    limiter = RateLimiter(2.0, clock.clock, clock.sleep)
    limiter.wait()
    clock.now += 0.2
    assert limiter.wait() == pytest.approx(0.3)


@pytest.mark.parametrize(("api_key", "spacing"), [(None, 1.05 / 3), (KEY, 0.105)])
def test_three_requests_per_second_without_a_key_ten_with(
    ncbi, tmp_path, fake_time, api_key, spacing
):
    policy = RetryPolicy(sleep=fake_time.sleep, clock=fake_time.clock)
    for name in ("a.zip", "b.zip", "c.zip"):
        vpkg.download(SEED, tmp_path / name, api_key=api_key, retry_policy=policy)
    assert len(ncbi.requests) == 3
    assert fake_time.sleeps == [round(spacing, 6)] * 2


def test_retries_also_respect_the_rate_limit(ncbi, tmp_path, policy, fake_time):
    ncbi.script(status(429, **{"Retry-After": "0"}))
    vpkg.download(SEED, tmp_path / "out.zip", retry_policy=policy)
    assert len(ncbi.requests) == 2
    assert fake_time.sleeps == [0.35]


def test_base_url_argument_overrides_the_environment(ncbi, tmp_path, policy, monkeypatch):
    monkeypatch.setenv("VPKG_BASE_URL", "http://127.0.0.1:9/nowhere")
    vpkg.download(SEED, tmp_path / "out.zip", base_url=ncbi.base_url + "/", retry_policy=policy)
    assert ncbi.requests[0].path == f"/datasets/v2/virus/accession/{SEED}/genome/download"
