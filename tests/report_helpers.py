"""Helpers of the report tests: the expected figures, computed independently of vpkg.

The data report is read straight from the zip with the standard library and counted with
DuckDB's own JSON functions (not vpkg's readers); genomic.fna headers are split by hand.
"""

from __future__ import annotations

import html.parser
import json
import re
import zipfile
from pathlib import Path

import duckdb
from conftest import CONSTRUCTED, DATA

REPORT = f"{DATA}/data_report.jsonl"
GENOMIC = f"{DATA}/genomic.fna"
EMPTY = CONSTRUCTED / "empty.constructed.zip"


def without_member(source: Path, member: str, dest: Path) -> Path:
    """A copy of a package zip lacking ``member`` (and its md5sum.txt line)."""
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as out:
        for info in src.infolist():
            if info.filename == member:
                continue
            content = src.read(info.filename)
            if info.filename == "md5sum.txt":
                lines = content.decode().splitlines(keepends=True)
                content = "".join(ln for ln in lines if not ln.rstrip().endswith(
                    member.removeprefix(f"{DATA}/"))).encode()
            out.writestr(info.filename, content)
    return dest


def expected_header(paths: list[Path]) -> dict[str, str]:
    """The header figures, as the page shows them, from the raw members of ``paths``."""
    records, sequences = [], set()
    for path in paths:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
            if REPORT in names:
                records += [ln for ln in zf.read(REPORT).decode().splitlines() if ln.strip()]
            if GENOMIC in names:
                for line in zf.read(GENOMIC).decode().splitlines():
                    if line.startswith(">"):
                        sequences.add(line[1:].split()[0])
    con = duckdb.connect()
    con.execute("CREATE TABLE r (j JSON)")
    if records:
        con.executemany("INSERT INTO r VALUES (?)", [[r] for r in records])
    row = con.execute("""
        WITH g AS (SELECT DISTINCT ON (j->>'accession') j->>'accession' AS accession,
                j->>'$.virus.taxId' AS virus, j->>'$.host.organismName' AS host,
                trim(split_part(j->>'$.location.geographicLocation', ':', 1)) AS country,
                j->>'$.isolate.collectionDate' AS collected,
                CAST(left(j->>'releaseDate', 10) AS DATE) AS released
            FROM r ORDER BY j->>'accession', j->>'updateDate' DESC)
        SELECT count(*), count(DISTINCT virus), count(DISTINCT host),
               count(DISTINCT nullif(country, '')), min(collected), max(collected),
               min(released), max(released) FROM g""").fetchall()[0]
    genomes, viruses, hosts, countries, c_first, c_last, r_first, r_last = row

    def span(first, last):
        if first is None:
            return "none given"
        return str(first) if first == last else f"{first} to {last}"

    return {
        "genomes": f"{genomes:,}", "sequences": f"{len(sequences):,}",
        "viruses": f"{viruses:,}", "hosts": f"{hosts:,}", "countries": f"{countries:,}",
        "collection": span(c_first, c_last), "release": span(r_first, r_last),
    }


def raw_records(path: Path) -> list[dict]:
    """The data report's records, parsed with json."""
    with zipfile.ZipFile(path) as zf:
        text = zf.read(REPORT).decode()
    return [json.loads(ln) for ln in text.splitlines() if ln.strip()]


class _Page(html.parser.HTMLParser):
    """The header figures, the quality rows and the chart specs of a report page."""

    def __init__(self):
        super().__init__()
        self.figures: dict[str, str] = {}
        self.quality: dict[str, list[str]] = {}
        self.chart_ids: list[str] = []
        self.scripts: list[str] = []
        self.refs: list[str] = []
        self._row: str | None = None
        self._cells: list[str] = []
        self._in_td = self._in_script = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for key in ("src", "href"):
            if key in a:
                self.refs.append(a[key])
        if tag == "link":
            self.refs.append(str(a))
        if "data-value" in a and a.get("id", "").startswith("figure-"):
            self.figures[a["id"].removeprefix("figure-")] = a["data-value"]
        if tag == "tr" and "data-what" in a:
            self._row, self._cells = a["data-what"], []
        if tag == "td" and self._row:
            self._in_td = True
            self._cells.append("")
        if tag == "div" and a.get("class") == "chart":
            self.chart_ids.append(a["id"].removeprefix("chart-"))
        if tag == "script":
            self._in_script = True
            self.scripts.append("")

    def handle_endtag(self, tag):
        if tag == "td":
            self._in_td = False
        if tag == "tr" and self._row:
            self.quality[self._row] = self._cells[1:]  # the first cell repeats the name
            self._row = None
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_td and self._row:
            self._cells[-1] += data
        if self._in_script:
            self.scripts[-1] += data


def parse_page(path: Path) -> _Page:
    """The parsed report page, with ``specs``: the chart specs of its last script."""
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    match = re.search(r"const VPKG_CHARTS = (\{.*?\});\n", page.scripts[-1], re.S)
    page.specs = json.loads(match.group(1))
    return page
