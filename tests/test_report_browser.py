"""The report page in a real browser: Debian's Chromium, headless, offline.

Each page is opened from its file with the network off (an offline browser context, a proxy
on a closed loopback port, and every request recorded). The tests assert that every chart
drew an SVG, that the console logged no error and no script failed, that the page asked for
nothing but its own file, and that the header shows the counts of an independent SQL query
over the same package.

Chromium is installed by ``.ci/setup`` (which ``.ci/run`` calls). Outside CI the tests are
skipped when it is missing; in CI (``CI=true``) they fail.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from conftest import REAL
from report_helpers import EMPTY, GENOMIC, REPORT, expected_header, parse_page, without_member

import vpkg

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium"
                                        if os.path.exists("/usr/bin/chromium") else None)
IN_CI = os.environ.get("CI", "").lower() == "true"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         # any request that got past the offline context would go to a closed port
         "--proxy-server=http://127.0.0.1:9", "--proxy-bypass-list=<-loopback>"]
ROTA = next(p for p in REAL if p.name == "Rotavirus_J.zip")


def _require_chromium() -> str:
    if CHROMIUM is None:
        message = ("Debian's chromium is not installed (apt-get install -y chromium, or run "
                   "bash .ci/setup)")
        if IN_CI:
            pytest.fail(f"CI=true and {message}")
        pytest.skip(message)
    return CHROMIUM


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """A persistent Chromium context on a fresh user-data-dir, offline."""
    executable = _require_chromium()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if IN_CI:
            pytest.fail("CI=true and playwright is not installed (pip install -e '.[dev]')")
        pytest.skip("playwright is not installed (pip install -e '.[dev]')")
    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(profile), executable_path=executable, headless=True, args=FLAGS,
            offline=True, viewport={"width": 1000, "height": 800})
        try:
            yield context
        finally:
            context.close()


def render(context, path: Path) -> dict:
    """Open ``path``; wait until the page's script says every chart is done; report."""
    page = context.new_page()
    console, errors, requests = [], [], []
    page.on("console", lambda m: console.append((m.type, m.text)))
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    try:
        page.goto(path.as_uri())
        page.wait_for_selector("body[data-rendered]", state="attached", timeout=60_000)
        charts = page.evaluate("""() => [...document.querySelectorAll('div.chart')].map(d => ({
            id: d.id.replace('chart-', ''),
            svg: d.querySelectorAll('svg').length,
            marks: d.querySelectorAll('svg .mark-rect path, svg .mark-text text').length,
            text: d.textContent}))""")
        figures = page.evaluate("""() => Object.fromEntries(
            [...document.querySelectorAll('.figure')].map(
                f => [f.id.replace('figure-', ''), f.querySelector('b').textContent]))""")
        rendered = int(page.evaluate("document.body.dataset.rendered"))
    finally:
        page.close()
    return {"console": console, "errors": errors, "requests": requests, "charts": charts,
            "figures": figures, "rendered": rendered}


def check_page(result: dict, path: Path) -> None:
    bad = [m for m in result["console"] if m[0] in ("error", "warning")]
    assert bad == [] and result["errors"] == []
    assert result["requests"] == [path.as_uri()]
    ids = parse_page(path).chart_ids
    assert [c["id"] for c in result["charts"]] == ids
    for chart in result["charts"]:
        assert chart["svg"] >= 1, f"chart {chart['id']} drew no SVG"
        assert chart["marks"] >= 1, f"chart {chart['id']} drew no bar or text"
    assert result["rendered"] == sum(c["svg"] for c in result["charts"])


def test_every_real_fixture_renders_offline(browser, real_zip, tmp_path):
    out = tmp_path / "report.html"
    vpkg.open_package(real_zip).report(out)
    result = render(browser, out)
    check_page(result, out)
    expected = expected_header([real_zip])
    assert {k: result["figures"][k] for k in expected} == expected
    assert result["figures"]["verified"] == "yes"


def test_empty_package_renders_no_data(browser, tmp_path):
    out = tmp_path / "report.html"
    vpkg.open_package(EMPTY).report(out)
    result = render(browser, out)
    check_page(result, out)
    assert result["figures"]["genomes"] == "0"
    for chart in result["charts"]:
        assert chart["text"].startswith("no data"), chart


@pytest.mark.parametrize("member", [REPORT, GENOMIC], ids=["no report", "no sequences"])
def test_package_lacking_a_member_renders(browser, tmp_path, member):
    path = without_member(ROTA, member, tmp_path / "pkg.zip")
    out = tmp_path / "report.html"
    vpkg.open_package(path).report(out)
    result = render(browser, out)
    check_page(result, out)
    drawn = {c["id"] for c in result["charts"] if not c["text"].startswith("no data")}
    assert drawn == ({"lengths"} if member == REPORT else {c["id"] for c in result["charts"]})
    assert {k: result["figures"][k] for k in ("genomes", "sequences")} == {
        k: expected_header([path])[k] for k in ("genomes", "sequences")}


def test_warehouse_renders(browser, tmp_path):
    from vpkg.sinks.report import write_report

    db = tmp_path / "wh.duckdb"
    vpkg.load(REAL, db)
    out = tmp_path / "report.html"
    write_report(db, out)
    result = render(browser, out)
    check_page(result, out)
    assert [c["id"] for c in result["charts"]][-2:] == ["loads", "sync-runs"]
    expected = expected_header(REAL)
    assert {k: result["figures"][k] for k in expected} == expected


def test_a_broken_chart_is_caught(browser, tmp_path):
    """The checks above can fail: a spec Vega cannot draw logs an error and draws no SVG."""
    out = tmp_path / "report.html"
    vpkg.open_package(ROTA).report(out)
    text = out.read_text(encoding="utf-8")
    out.write_text(text.replace('"mark": {"type": "bar"', '"mark": {"type": "nope"', 1),
                   encoding="utf-8")
    result = render(browser, out)
    assert any(kind == "error" for kind, _ in result["console"])
    assert sum(c["svg"] == 0 for c in result["charts"]) == 1


@pytest.mark.parametrize("ci", [True, False])
def test_missing_chromium_fails_in_ci_and_skips_elsewhere(monkeypatch, ci):
    import test_report_browser as module

    monkeypatch.setattr(module, "CHROMIUM", None)
    monkeypatch.setattr(module, "IN_CI", ci)
    outcome = pytest.fail.Exception if ci else pytest.skip.Exception
    with pytest.raises(outcome, match="chromium is not installed"):
        module._require_chromium()
