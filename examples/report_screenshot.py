"""The screenshot in docs/report.md and the README: `vpkg report` on a real fixture, drawn by
headless Chromium from the file, offline.

    python examples/report_screenshot.py            # writes docs/report.png
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import vpkg

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "fixtures" / "real" / "Rotavirus_J.zip"
OUT = ROOT / "docs" / "report.png"


def main(chromium: str = "/usr/bin/chromium") -> None:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        page_path = Path(tmp, "report.html")
        vpkg.open_package(PACKAGE).report(page_path)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium, headless=True,
                                         args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page(offline=True, viewport={"width": 900, "height": 800})
            page.goto(page_path.as_uri())
            page.wait_for_selector("body[data-rendered]", state="attached")
            # the header and the first charts: enough to show what a report looks like
            page.screenshot(path=str(OUT), full_page=True,
                            clip={"x": 0, "y": 0, "width": 900, "height": 1700})
            browser.close()
    print(f"{OUT}: {OUT.stat().st_size:,} bytes")


if __name__ == "__main__":
    main(*sys.argv[1:])
