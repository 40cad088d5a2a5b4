"""Retries, failures and atomicity: every path ends with a verified zip at dest, or nothing.

Time is fake (`policy` fixture): waits are recorded in ``fake_time.sleeps``, never slept.
Backoff is urllib3's: the first retry waits only for the rate limiter (0.35 s at 3 requests/s),
retry n >= 2 waits ``backoff_factor * 2**(n-1)`` seconds, at most ``backoff_max``.
"""

from __future__ import annotations

import io
import logging
import zipfile
import zlib

import pytest
from ncbi_server import (  # noqa: F401  (fixtures)
    compressed_span,
    drop,
    error,
    fake_time_fixture,
    flip_byte,
    flipped,
    ncbi_fixture,
    policy_fixture,
    status,
    tampered,
    truncated,
)

import vpkg
from vpkg.fetch import RetryPolicy
from vpkg.package import open_package

SEED = "NC_045512.2"


def download(tmp_path, policy, **params):
    return vpkg.download(SEED, tmp_path / "out.zip", retry_policy=policy, **params)


def assert_verified_at_dest(tmp_path, ncbi):
    dest = tmp_path / "out.zip"
    assert dest.read_bytes() == ncbi.package.read_bytes()
    assert open_package(dest).verify()  # md5 of every member
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.zip"]  # no temp file left


def assert_nothing_left(tmp_path):
    assert list(tmp_path.iterdir()) == []


# ---- transient failures are retried ---------------------------------------------------------
def test_429_honours_retry_after(ncbi, tmp_path, policy, fake_time):
    ncbi.script(status(429, b"", **{"Retry-After": "7"}))
    download(tmp_path, policy)
    assert len(ncbi.requests) == 2
    assert fake_time.sleeps == [7.0]
    assert_verified_at_dest(tmp_path, ncbi)


def test_retry_after_is_capped(ncbi, tmp_path, fake_time):
    policy = RetryPolicy(retry_after_max=60, sleep=fake_time.sleep, clock=fake_time.clock)
    ncbi.script(error(429, "Too many requests", **{"Retry-After": "86400"}))
    download(tmp_path, policy)
    assert fake_time.sleeps == [60.0]
    assert_verified_at_dest(tmp_path, ncbi)


def test_429_without_retry_after_backs_off(ncbi, tmp_path, policy, fake_time):
    ncbi.script(status(429), status(429))
    download(tmp_path, policy)
    assert len(ncbi.requests) == 3
    assert fake_time.sleeps == [0.35, 2.0]
    assert_verified_at_dest(tmp_path, ncbi)


@pytest.mark.parametrize("code", [500, 502, 503, 504])
def test_5xx_is_retried(ncbi, tmp_path, policy, fake_time, code):
    ncbi.script(status(code, b"oops"))
    download(tmp_path, policy)
    assert [r.method for r in ncbi.requests] == ["GET", "GET"]
    assert fake_time.sleeps == [0.35]
    assert_verified_at_dest(tmp_path, ncbi)


def test_post_is_retried_too(ncbi, tmp_path, policy, fake_time):
    ncbi.script(status(503))
    accessions = [f"MN{n:06d}.1" for n in range(300)]
    vpkg.download(accessions, tmp_path / "out.zip", retry_policy=policy)
    assert [r.method for r in ncbi.requests] == ["POST", "POST"]
    assert ncbi.requests[0].body == ncbi.requests[1].body
    assert_verified_at_dest(tmp_path, ncbi)


def test_dropped_connection_is_retried(ncbi, tmp_path, policy, fake_time):
    ncbi.script(drop(), drop())
    download(tmp_path, policy)
    assert len(ncbi.requests) == 3
    assert fake_time.sleeps == [0.35, 2.0]
    assert_verified_at_dest(tmp_path, ncbi)


@pytest.mark.parametrize("mode", ["length", "close"])
def test_truncated_zip_is_retried(ncbi, tmp_path, policy, fake_time, mode):
    """``length``: the stream ends early; ``close``: it looks complete but the zip is cut."""
    ncbi.script(truncated(mode))
    download(tmp_path, policy)
    assert len(ncbi.requests) == 2
    assert fake_time.sleeps == [0.35]
    assert_verified_at_dest(tmp_path, ncbi)


def test_zip_with_a_flipped_byte_is_retried(ncbi, tmp_path, policy, fake_time, caplog):
    caplog.set_level(logging.INFO, logger="vpkg.fetch")
    ncbi.script(flipped())
    download(tmp_path, policy)
    assert len(ncbi.requests) == 2
    assert "genomic.fna" in caplog.text  # the member whose CRC failed is named
    assert_verified_at_dest(tmp_path, ncbi)


def test_zip_whose_deflate_stream_breaks_is_retried(ncbi, tmp_path, policy, caplog):
    """Some flipped bytes break the deflate stream (zlib.error) before any CRC is computed."""
    caplog.set_level(logging.INFO, logger="vpkg.fetch")
    data = ncbi.package.read_bytes()
    name, start, size = compressed_span(data)
    at = next(a for a in range(start, start + size) if _breaks_deflate(flip_byte(data, a), name))
    ncbi.script(flipped(at))
    download(tmp_path, policy)
    assert len(ncbi.requests) == 2
    assert "damaged package" in caplog.text
    assert_verified_at_dest(tmp_path, ncbi)


def _breaks_deflate(data: bytes, name: str) -> bool:
    try:
        zipfile.ZipFile(io.BytesIO(data)).read(name)
    except zlib.error:
        return True
    except zipfile.BadZipFile:
        return False
    return False


def test_zip_failing_its_md5sum_is_retried(ncbi, tmp_path, policy, caplog):
    caplog.set_level(logging.INFO, logger="vpkg.fetch")
    ncbi.script(tampered())
    download(tmp_path, policy)
    assert len(ncbi.requests) == 2
    assert "md5sum.txt says" in caplog.text
    assert_verified_at_dest(tmp_path, ncbi)


# ---- permanent failures are not ------------------------------------------------------------
def test_501_is_not_retried(ncbi, tmp_path, policy, fake_time):
    ncbi.script(status(501, b'{"code": 12, "message": "Method not implemented"}'))
    with pytest.raises(vpkg.DownloadError) as info:
        download(tmp_path, policy)
    assert (info.value.status, info.value.ncbi_message) == (501, "Method not implemented")
    assert len(ncbi.requests) == 1
    assert fake_time.sleeps == []
    assert_nothing_left(tmp_path)


def test_400_surfaces_ncbi_message_gateway_shape(ncbi, tmp_path, policy):
    message = "Invalid argument provided: 'invalid path: \"sort\" is not a message'"
    ncbi.script(error(400, message))
    with pytest.raises(vpkg.DownloadError) as info:
        download(tmp_path, policy)
    assert info.value.status == 400
    assert info.value.ncbi_message == message
    assert str(info.value) == (
        "NCBI Datasets answered HTTP 400 Bad Request to GET "
        f"/datasets/v2/virus/accession/{SEED}/genome/download: {message} "
        "(check the parameters against docs/download.md)"
    )
    assert len(ncbi.requests) == 1
    assert_nothing_left(tmp_path)


def test_404_surfaces_ncbi_message_rpc_status_shape(ncbi, tmp_path, policy):
    ncbi.script(error(404, "Your request is invalid.", shape="rpc"))
    with pytest.raises(vpkg.DownloadError) as info:
        download(tmp_path, policy)
    assert (info.value.status, info.value.ncbi_message) == (404, "Your request is invalid.")
    assert "no records match" in str(info.value)
    assert len(ncbi.requests) == 1


def test_403_html_page_becomes_plain_text(ncbi, tmp_path, policy):
    page = b"<html><head><title>Blocked</title></head><body><h1>Access denied</h1></body></html>"
    ncbi.script(status(403, page, **{"Content-Type": "text/html"}))
    with pytest.raises(vpkg.DownloadError) as info:
        download(tmp_path, policy)
    assert info.value.ncbi_message == "Blocked Access denied"
    assert len(ncbi.requests) == 1
    assert_nothing_left(tmp_path)


# ---- bounded attempts ------------------------------------------------------------------------
def test_persistent_503_gives_up_after_the_budget(ncbi, tmp_path, policy, fake_time):
    ncbi.script(*[error(503, "Service Unavailable", shape="rpc")] * 20)
    with pytest.raises(vpkg.DownloadError) as info:
        download(tmp_path, policy)
    assert len(ncbi.requests) == policy.attempts == 10
    assert fake_time.sleeps == [0.35, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0, 30.0]
    assert info.value.status == 503
    assert "after 10 attempts: Service Unavailable" in str(info.value)
    assert_nothing_left(tmp_path)


def test_persistent_429_names_the_api_key_remedy(ncbi, tmp_path, fake_time):
    policy = RetryPolicy(attempts=3, sleep=fake_time.sleep, clock=fake_time.clock)
    ncbi.script(*[error(429, "Too Many Requests", **{"Retry-After": "1"})] * 3)
    with pytest.raises(vpkg.DownloadError) as info:
        download(tmp_path, policy)
    assert len(ncbi.requests) == 3
    assert "set an API key" in str(info.value)
    assert_nothing_left(tmp_path)


def test_persistent_corruption_gives_up_after_the_budget(ncbi, tmp_path, fake_time):
    policy = RetryPolicy(attempts=4, sleep=fake_time.sleep, clock=fake_time.clock)
    ncbi.script(*[flipped()] * 4)
    with pytest.raises(vpkg.DownloadError) as info:
        download(tmp_path, policy)
    assert len(ncbi.requests) == 4
    assert str(info.value).startswith("no valid package after 4 attempt(s); last problem: ")
    assert info.value.status is None
    assert_nothing_left(tmp_path)


def test_budget_is_shared_by_http_and_zip_retries(ncbi, tmp_path, fake_time):
    policy = RetryPolicy(attempts=5, sleep=fake_time.sleep, clock=fake_time.clock)
    ncbi.script(status(503), status(503), truncated(), flipped(), status(502))
    with pytest.raises(vpkg.DownloadError) as info:
        download(tmp_path, policy)
    assert len(ncbi.requests) == 5
    assert info.value.status == 502
    assert_nothing_left(tmp_path)


def test_persistent_drops_give_up_with_a_connection_error(ncbi, tmp_path, fake_time):
    policy = RetryPolicy(attempts=3, sleep=fake_time.sleep, clock=fake_time.clock)
    ncbi.script(*[drop()] * 3)
    with pytest.raises(vpkg.DownloadError) as info:
        download(tmp_path, policy)
    assert len(ncbi.requests) == 3
    assert str(info.value).startswith(f"could not download from 127.0.0.1:{ncbi.port} after 3")
    assert_nothing_left(tmp_path)


def test_unreachable_server(tmp_path, fake_time, monkeypatch):
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    policy = RetryPolicy(attempts=2, sleep=fake_time.sleep, clock=fake_time.clock)
    with pytest.raises(vpkg.DownloadError, match="could not download from 127.0.0.1"):
        vpkg.download(
            SEED, tmp_path / "out.zip", base_url=f"http://127.0.0.1:{port}", retry_policy=policy
        )
    assert fake_time.sleeps == [0.35]
    assert_nothing_left(tmp_path)


# ---- atomicity -------------------------------------------------------------------------------
def test_failed_download_keeps_an_existing_dest_untouched(ncbi, tmp_path, policy):
    dest = tmp_path / "out.zip"
    dest.write_bytes(b"previous package")
    ncbi.script(error(400, "bad"))
    with pytest.raises(vpkg.DownloadError):
        download(tmp_path, policy)
    assert dest.read_bytes() == b"previous package"
    assert [p.name for p in tmp_path.iterdir()] == ["out.zip"]


def test_successful_download_replaces_an_existing_dest(ncbi, tmp_path, policy):
    (tmp_path / "out.zip").write_bytes(b"previous package")
    download(tmp_path, policy)
    assert_verified_at_dest(tmp_path, ncbi)


def test_interrupt_during_a_retry_wait_leaves_nothing(ncbi, tmp_path):
    def interrupted(seconds):
        raise KeyboardInterrupt

    ncbi.script(truncated("close"))
    policy = RetryPolicy(sleep=interrupted)
    with pytest.raises(KeyboardInterrupt):
        download(tmp_path, policy)
    assert len(ncbi.requests) == 1
    assert_nothing_left(tmp_path)


def test_local_write_error_is_a_download_error_without_retry(ncbi, tmp_path, policy, monkeypatch):
    real_open = open

    def full_disk(path, mode="r", *args, **kwargs):
        if str(path).endswith(".part") and "w" in mode:
            raise OSError(28, "No space left on device")
        return real_open(path, mode, *args, **kwargs)

    monkeypatch.setattr("builtins.open", full_disk)
    with pytest.raises(vpkg.DownloadError) as info:
        download(tmp_path, policy)
    assert str(info.value) == (
        f"cannot write the package in {tmp_path}: No space left on device; "
        "check the folder's permissions and free space"
    )
    assert len(ncbi.requests) == 1
    assert_nothing_left(tmp_path)


# ---- progress bar ------------------------------------------------------------------------------
def test_progress_bar_on_request(ncbi, tmp_path, policy, capsys):
    download(tmp_path, policy, progress=True)
    err = capsys.readouterr().err
    size = ncbi.package.stat().st_size
    assert "out.zip" in err
    assert f"{size / 1024:.1f}k/{size / 1024:.1f}k" in err


def test_progress_bar_restarts_after_a_retry(ncbi, tmp_path, policy, capsys):
    ncbi.script(truncated("length"))
    download(tmp_path, policy, progress=True)
    assert capsys.readouterr().err.count("out.zip") >= 2
    assert_verified_at_dest(tmp_path, ncbi)


def test_progress_off(ncbi, tmp_path, policy, capsys):
    download(tmp_path, policy, progress=False)
    assert capsys.readouterr() == ("", "")


def test_progress_defaults_to_off_when_stderr_is_not_a_terminal(ncbi, tmp_path, policy, capsys):
    download(tmp_path, policy)
    assert capsys.readouterr().err == ""
