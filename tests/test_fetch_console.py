"""`vpkg download` says what it does, and SIGTERM/SIGHUP clean up like Ctrl-C.

Every test runs the real command in a subprocess against the local test server.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from ncbi_server import drop, flipped, ncbi_fixture, stalled, status  # noqa: F401  (fixture)

KEY = "0123456789abcdefSECRETKEY"


def vpkg_download(ncbi, dest, *flags, wait=True):
    env = {**os.environ, "VPKG_BASE_URL": ncbi.base_url}
    env.pop("NCBI_API_KEY", None)
    argv = [sys.executable, "-m", "vpkg", "download", "NC_045512.2", "--filename", str(dest),
            "--no-progressbar", *flags]
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    if not wait:
        return proc
    out, err = proc.communicate(timeout=120)
    return proc.returncode, out, err


def test_one_stderr_line_per_retry(ncbi, tmp_path):
    ncbi.script(status(503, Retry_After="0"), drop())
    code, out, err = vpkg_download(ncbi, tmp_path / "x.zip")
    assert code == 0 and out == f"{tmp_path / 'x.zip'}\n"
    lines = err.splitlines()
    assert len(lines) == 2, err
    assert lines[0] == ("vpkg download: NCBI Datasets: attempt 1 of 10 failed (HTTP 503); "
                        "retrying in 0.0 s")
    assert lines[1].startswith("vpkg download: NCBI Datasets: attempt 2 of 10 failed (")
    assert lines[1].endswith("); retrying in 2.0 s")
    assert (tmp_path / "x.zip").read_bytes() == ncbi.package.read_bytes()


def test_attempts_are_counted_across_requests(ncbi, tmp_path):
    """A damaged zip is asked for again: the next failure is attempt 2, not 1."""
    ncbi.script(flipped(), status(503, Retry_After="0"))
    code, _, err = vpkg_download(ncbi, tmp_path / "x.zip")
    lines = err.splitlines()
    assert code == 0 and len(lines) == 2, err
    assert lines[0].startswith("vpkg download: NCBI Datasets: attempt 1 of 10 failed (received "
                               "a damaged package (")
    # urllib3's backoff: the first retry goes at once (only the rate limit spaces it)
    assert lines[0].endswith("); retrying in 0.0 s")
    assert lines[1] == ("vpkg download: NCBI Datasets: attempt 2 of 10 failed (HTTP 503); "
                        "retrying in 0.0 s")


def test_quiet_says_nothing(ncbi, tmp_path):
    ncbi.script(status(503, Retry_After="0"))
    code, _, err = vpkg_download(ncbi, tmp_path / "x.zip", "--quiet")
    assert (code, err) == (0, "")
    assert len(ncbi.requests) == 2  # the retry happened, silently


def test_verbose_logs_every_request_without_the_key(ncbi, tmp_path):
    ncbi.script(status(503, b'{"message": "busy"}', Retry_After="0"))
    code, _, err = vpkg_download(ncbi, tmp_path / "x.zip", "-v", "--api-key", KEY)
    assert code == 0
    url = (f"{ncbi.base_url}/virus/accession/NC_045512.2/genome/download"
           "?include_sequence=GENOME")
    size = ncbi.package.stat().st_size
    assert err.splitlines() == [
        f"vpkg download: GET {url} -> HTTP 503, 19 bytes",
        "vpkg download: NCBI Datasets: attempt 1 of 10 failed (HTTP 503); retrying in 0.0 s",
        f"vpkg download: GET {url} -> HTTP 200, {size:,} bytes",
    ]
    assert KEY not in err
    assert ncbi.requests[1].headers["api-key"] == KEY  # it was sent, in the header only


def leftovers(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_signal_mid_download_leaves_no_part_file(ncbi, tmp_path, signum):
    ncbi.script(stalled())
    out = tmp_path / "out"
    out.mkdir()
    proc = vpkg_download(ncbi, out / "x.zip", wait=False)
    assert ncbi.stalling.wait(60), "the download never started"
    deadline = time.monotonic() + 60  # the .part is created before the request is sent
    while not any(n.endswith(".part") for n in leftovers(out)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [n for n in leftovers(out) if n.endswith(".part")], "no .part file seen"
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=60)
    ncbi.release.set()
    assert proc.returncode == 128 + signum
    assert err == f"vpkg download: stopped by {signal.Signals(signum).name}\n"
    assert leftovers(out) == []
