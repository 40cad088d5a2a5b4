"""`vpkg report`: a picture of packages or a warehouse, as one self-contained HTML page.

The figures are DuckDB aggregates (`vpkg.sinks.report.data`), the charts Vega-Lite specs
(`vpkg.sinks.report.charts`) drawn in the browser by Vega, whose scripts are inlined in the
page (`vpkg.sinks.report.page`): the file opens offline and makes no request.

>>> import tempfile, os, vpkg
>>> out = os.path.join(tempfile.mkdtemp(), "report.html")
>>> with vpkg.open_package("fixtures/real/Hantavirus_Z10.zip") as pkg:
...     summary = pkg.report(out)
>>> summary.header["genomes"], summary.charts
(9, 7)
"""

from __future__ import annotations

import html
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vpkg.errors import ParameterError, VpkgError
from vpkg.sinks.multi import is_warehouse

__all__ = ["ReportSummary", "is_warehouse", "write_report"]



@dataclass
class ReportSummary:
    """What was written: the page's path and size, its header figures, how many charts."""

    path: Path
    bytes: int
    header: dict[str, Any]
    charts: int

    def __str__(self) -> str:
        return (f"{self.path}: {self.charts} charts, {self.header['genomes']:,} genomes, "
                f"{self.bytes / 1e6:.2f} MB")


def write_report(
    inputs: list | str | os.PathLike,
    output: str | os.PathLike,
    *,
    verify: bool = True,
    title: str | None = None,
    batch_size: int = 65536,
) -> ReportSummary:
    """Write the HTML report of open packages, or of a warehouse file, to ``output``.

    Parameters
    ----------
    inputs
        One `PackageInput` per package (``Package.report_input()``; their genomes are
        combined, one row per distinct accession), or the path of a warehouse ``.duckdb``
        file.
    output
        The HTML file to write; written to a temporary file beside it and renamed when
        complete.
    verify
        Check each package's CRCs and md5sum.txt, and show the result in the header.
    title
        The page title (default: from the inputs' file names).
    batch_size
        Rows per Arrow batch read from a package.

    Raises
    ------
    VpkgError
        When a member cannot be read, the warehouse cannot be opened, or the output cannot
        be written.
    """
    import duckdb

    from vpkg.sinks.report.charts import charts as make_charts
    from vpkg.sinks.report.data import gather, stage_packages, stage_warehouse
    from vpkg.sinks.report.page import render_page

    target = Path(output)
    if not target.parent.is_dir():  # before the work, not after it
        raise VpkgError(f"{target}: cannot write the report, the folder {target.parent} does "
                        "not exist; create it or give another -o")
    if target.is_dir():
        raise VpkgError(f"{target}: is a folder; give the HTML file to write, for example "
                        f"-o {target / 'report.html'}")
    con = duckdb.connect()  # in memory: the staged tables never reach a file
    try:
        if isinstance(inputs, str | os.PathLike):
            names = [Path(inputs).name]
            try:
                sources = stage_warehouse(con, os.fspath(inputs))
            except duckdb.Error as exc:
                from vpkg.sinks.duckdb_common import duckdb_message

                raise VpkgError(f"{os.fspath(inputs)}: cannot read the warehouse "
                                f"({duckdb_message(exc)}); give a file written by vpkg load"
                                ) from None
        else:
            if not inputs:
                raise ParameterError("no package to report on; give at least one", "inputs")
            names = [Path(i.path).name for i in inputs]
            sources = stage_packages(con, list(inputs), verify=verify, batch_size=batch_size)
        data = gather(con, sources)
    finally:
        con.close()
    chart_list = make_charts(data)
    title = title or "vpkg report: " + ", ".join(names)
    kind = "warehouse" if sources.warehouse else (
        "package" if len(names) == 1 else f"{len(names)} packages")
    subtitle = f"A picture of the {kind} {', '.join(names)}, made by vpkg."
    page = render_page(title, subtitle, header_html(data), chart_list,
                       tables=quality_html(data) + inputs_html(data))
    _write_atomic(target, page.encode("utf-8"))
    return ReportSummary(target, target.stat().st_size, data["header"], len(chart_list))


# ---- the HTML around the charts ----------------------------------------------------------------


def header_html(data: dict[str, Any]) -> str:
    """The figures at the top: counts, date ranges, and whether the packages verified."""
    h = data["header"]
    src = data["sources"]

    def span(first, last) -> str:
        if first is None:
            return "none given"
        return first if first == last else f"{first} to {last}"

    members = sum(len(i["tables"]) if i["kind"] == "warehouse" else len(i["members"])
                  for i in src.inputs)
    figures = [
        ("genomes", f"{h['genomes']:,}", "distinct accessions in the data report"
         if src.has_genomes else "no data report"),
        ("sequences", f"{h['sequences']:,}", "distinct accessions in genomic.fna"
         if src.has_sequences else "no genomic.fna"),
        ("viruses", f"{h['viruses']:,}", "distinct virus taxa (virus.taxId)"),
        ("hosts", f"{h['hosts']:,}", "distinct host names"),
        ("countries", f"{h['countries']:,}", "distinct countries of collection"),
        ("collection", span(h["collection_first"], h["collection_last"]),
         "collection dates, first to last"),
        ("release", span(h["release_first"], h["release_last"]), "release dates, first to last"),
        ("members", f"{members:,}", "tables in the warehouse" if src.warehouse
         else "files in the package" + ("s" if len(src.inputs) > 1 else "") + ", listed below"),
        ("verified", _verified(src.inputs), "CRCs and md5sum.txt"
         if not src.warehouse else "a warehouse has no md5sum.txt"),
    ]
    cells = "".join(
        f'<div class="figure" id="figure-{key}" data-value="{html.escape(value)}">'
        f"<b>{_nowrap_dates(html.escape(value))}</b>"
        f"<span>{html.escape(key)}: {html.escape(note)}</span></div>"
        for key, value, note in figures)
    return f'<div class="figures" id="header">{cells}</div>'


def _nowrap_dates(text: str) -> str:
    """Dates kept on one line each (a range may still break at " to ")."""
    return re.sub(r"\d{4}-\d{2}(-\d{2})?", r'<span class="date">\g<0></span>', text)


def _verified(inputs: list[dict[str, Any]]) -> str:
    states = [i.get("verified") for i in inputs if i["kind"] == "package"]
    if not states:
        return "n/a"
    if any(s is False for s in states):
        return "FAILED"
    if any(s is None for s in states):
        return "not checked"
    return "yes"


def quality_html(data: dict[str, Any]) -> str:
    """The data-quality table: counts and shares of what is missing."""
    rows = data["quality"]
    body = "".join(
        f'<tr data-what="{html.escape(r["what"])}"><td>{html.escape(r["what"])}</td>'
        f'<td class="n">{r["count"]:,}</td><td class="n">of {r["of"]:,}</td>'
        f'<td class="n">{_percent(r["percent"])}</td></tr>'
        for r in rows)
    if not data["sources"].has_sequences:
        body += ('<tr><td colspan="4">accessions without a sequence: not known, the input has '
                 "no genomic.fna</td></tr>")
    if not data["sources"].has_genomes:
        body += ('<tr><td colspan="4">missing fields: not known, the input has no data report'
                 "</td></tr>")
    return ('<section id="section-quality"><h2>Data quality</h2><p class="caption">What the '
            "genomes lack, and accessions found in only one of the data report and "
            f'genomic.fna</p><table id="quality">{body}</table></section>')


def _percent(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}%"


def inputs_html(data: dict[str, Any]) -> str:
    """What the report was made from: each package's members and verification, or the
    warehouse's tables and row counts."""
    parts = []
    for item in data["sources"].inputs:
        name = html.escape(Path(item["path"]).name)
        if item["kind"] == "warehouse":
            rows = "".join(f'<tr><td>{html.escape(t)}</td><td class="n">{n:,} rows</td></tr>'
                           for t, n in item["tables"].items())
            parts.append(f"<h3>{name} (warehouse)</h3><table>{rows}</table>")
            continue
        rows = "".join(f'<tr><td>{html.escape(m)}</td><td class="n">{size:,} bytes</td></tr>'
                       for m, size in item["members"])
        state = {True: "verified", False: "verification FAILED", None: "not verified"}
        css = {True: "ok", False: "bad", None: ""}[item["verified"]]
        parts.append(
            f'<h3>{name}</h3><p class="{css}">{state[item["verified"]]}: '
            f'{html.escape(item["verify_message"])}</p>'
            f"<details><summary>{len(item['members'])} members</summary>"
            f"<table>{rows}</table></details>")
    return '<section id="section-inputs"><h2>Members</h2>' + "".join(parts) + "</section>"


def _write_atomic(target: Path, content: bytes) -> None:
    try:
        fd, tmp = tempfile.mkstemp(dir=target.parent if str(target.parent) else ".",
                                   prefix=f".{target.name}.", suffix=".tmp")
    except OSError as exc:
        raise VpkgError(f"{target}: cannot write the report ({exc.strerror or exc}); check "
                        "that the folder exists and is writable") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(content)
        os.replace(tmp, target)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise VpkgError(f"{target}: cannot write the report ({exc.strerror or exc})"
                            ) from None
        raise
