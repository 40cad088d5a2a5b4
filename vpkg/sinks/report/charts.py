"""The charts of a report as Vega-Lite specifications, each with its title and caption.

A chart whose data is empty is a text mark saying "no data" and why, so that every chart of
the page renders (as an SVG) whatever the package holds.

>>> chart = no_data("x", "Genomes", "what it counts", "this package has no data report")
>>> chart.spec["mark"]["type"], chart.spec["data"]["values"][0]["text"]
('text', 'no data: this package has no data report')
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json"  # an identifier: never fetched
WIDTH = 620
HEIGHT = 220
COMPLETENESS_COLORS = {"COMPLETE": "#2b7bba", "PARTIAL": "#f0a030", "not given": "#b0b0b0"}
LOAD_COLORS = {"new": "#2b7bba", "updated": "#f0a030", "added": "#2b7bba",
               "withdrawn": "#c0392b"}


@dataclass
class Chart:
    """One chart: an element id, a title, the one-line caption, a Vega-Lite spec."""

    id: str
    title: str
    caption: str
    spec: dict[str, Any]


def charts(data: dict[str, Any]) -> list[Chart]:
    """Every chart of the report for the figures of `vpkg.sinks.report.data.gather`."""
    src = data["sources"]
    why = None
    if not src.has_genomes:
        why = "the input has no data report (data_report.jsonl)"
    elif not data["header"]["genomes"]:
        why = "the data report holds no genomes"
    out = [
        _collection_years(data, why),
        _release_years(data, why),
        _lag(data, why),
        _top("countries", "Top countries", data["countries"], data["no_country"],
             "country of collection (the part of geo_location before ':')", why),
        _top("hosts", "Top hosts", data["hosts"], data["no_host"], "host organism name", why),
        _lengths(data),
        _shares(data, why),
    ]
    if src.warehouse:
        out.append(_loads(data))
        out.append(_sync(data))
    return out


def no_data(id: str, title: str, caption: str, reason: str) -> Chart:
    """A chart that says "no data: <reason>"."""
    spec = {
        "$schema": SCHEMA, "width": WIDTH, "height": 40,
        "data": {"values": [{"text": f"no data: {reason}"}]},
        "mark": {"type": "text", "fontSize": 14, "color": "#777", "align": "center"},
        "encoding": {"text": {"field": "text"}},
        "usermeta": {"vpkg": "no data"},
    }
    return Chart(id, title, caption, spec)


def _bar(values: list[dict], encoding: dict, height: int = HEIGHT, **extra) -> dict:
    return {"$schema": SCHEMA, "width": WIDTH, "height": height, "data": {"values": values},
            "mark": {"type": "bar", "tooltip": True}, "encoding": encoding, **extra}


def _not_shown(n: int, what: str) -> str:
    return f"; {n:,} {'genome' if n == 1 else 'genomes'} without {what} not shown" if n else ""


def _year_axis(title: str) -> dict:
    """x from ``year`` to ``year_end`` on a linear axis: a year without genomes is a gap."""
    return {"x": {"field": "year", "type": "quantitative", "bin": {"binned": True},
                  "title": title, "axis": {"format": "d", "tickMinStep": 1}},
            "x2": {"field": "year_end"}}


def _collection_years(data, why) -> Chart:
    caption = ("Genomes (distinct accessions) per year of collection (isolate.collectionDate), "
               "stacked by completeness" + _not_shown(data["no_collection_year"],
                                                      "a collection date"))
    title = "Genomes per collection year"
    if not data["collection_years"]:
        return no_data("collection-years", title, caption, why or "no genome has a collection date")
    colors = sorted({r["completeness"] for r in data["collection_years"]})
    values = [{**r, "year_end": r["year"] + 1} for r in data["collection_years"]]
    return Chart("collection-years", title, caption, _bar(values, {
        **_year_axis("collection year"),
        "y": {"field": "genomes", "type": "quantitative", "aggregate": "sum",
              "title": "genomes"},
        "color": {"field": "completeness", "type": "nominal", "scale": {
            "domain": colors,
            "range": [COMPLETENESS_COLORS.get(c, "#7f7f7f") for c in colors]}},
        "tooltip": [{"field": "year", "type": "ordinal"}, {"field": "completeness"},
                    {"field": "genomes", "type": "quantitative"}],
    }))


def _release_years(data, why) -> Chart:
    caption = ("Genomes (distinct accessions) per year of release in GenBank (releaseDate)"
               + _not_shown(data["no_release_date"], "a release date"))
    title = "Genomes per release year"
    if not data["release_years"]:
        return no_data("release-years", title, caption, why or "no genome has a release date")
    values = [{**r, "year_end": r["year"] + 1} for r in data["release_years"]]
    return Chart("release-years", title, caption, _bar(values, {
        **_year_axis("release year"),
        "y": {"field": "genomes", "type": "quantitative", "title": "genomes"},
        "color": {"value": "#2b7bba"},
    }))


def _lag(data, why) -> Chart:
    width = data["lag_width"]
    caption = ("Genomes with a full collection date (YYYY-MM-DD) and a release date, by release "
               "lag: release date minus collection date, in days"
               + (f", in bins of {width} days" if width else "")
               + f" ({data['lag_genomes']:,} genomes)")
    title = "Release lag"
    if not data["lag"]:
        return no_data("release-lag", title, caption,
                       why or "no genome has both a full collection date and a release date")
    return Chart("release-lag", title, caption, _bar(data["lag"], {
        "x": {"field": "lag_start", "type": "quantitative", "bin": {"binned": True},
              "title": "release lag (days)"},
        "x2": {"field": "lag_end"},
        "y": {"field": "genomes", "type": "quantitative", "title": "genomes"},
        "color": {"value": "#5b8f3a"},
        "tooltip": [{"field": "lag_start", "title": "from day"},
                    {"field": "lag_end", "title": "to day"}, {"field": "genomes"}],
    }))


def _top(id, title, rows, missing, what, why) -> Chart:
    caption = (f"Genomes per {what}, the most frequent first, the rest summed as \"other\""
               + _not_shown(missing, f"a {what.split(' (')[0]}"))
    if not rows:
        return no_data(id, title, caption, why or f"no genome names a {what.split(' (')[0]}")
    return Chart(id, title, caption, _bar(rows, {
        "y": {"field": "name", "type": "nominal", "title": None,
              "sort": {"field": "rank", "order": "ascending"}},
        "x": {"field": "genomes", "type": "quantitative", "title": "genomes"},
        "color": {"condition": {"test": "datum.name === 'other'", "value": "#b0b0b0"},
                  "value": "#2b7bba"},
        "tooltip": [{"field": "name"}, {"field": "genomes"}],
    }, height={"step": 18}))


def _lengths(data) -> Chart:
    per = "per segment, " if data["segmented"] else ""
    caption = (f"Genomes by sequence length in bases ({data['lengths_from']}), {per}in "
               "equal-width bins between the shortest and longest"
               + (f"; {data['lengths_left_out']:,} genomes of rarer segments not shown"
                  if data["lengths_left_out"] else ""))
    title = "Sequence length" + (" per segment" if data["segmented"] else "")
    if not data["lengths"]:
        src = data["sources"]
        reason = "no genome has a length"
        if not (src.has_genomes or src.has_sequences):
            reason = "the input has neither a data report nor genomic.fna"
        elif not (data["header"]["genomes"] or data["header"]["sequences"]):
            reason = "the package holds no genomes"
        return no_data("lengths", title, caption, reason)
    layer = {
        "mark": {"type": "bar", "tooltip": True},
        "encoding": {
            "x": {"field": "length_start", "type": "quantitative", "bin": {"binned": True},
                  "title": "length (bases)"},
            "x2": {"field": "length_end"},
            "y": {"field": "genomes", "type": "quantitative", "title": "genomes"},
            "color": {"value": "#7b5ea7"},
            "tooltip": [{"field": "segment"}, {"field": "length_start", "title": "from"},
                        {"field": "length_end", "title": "below"}, {"field": "genomes"}],
        },
    }
    if not data["segmented"]:
        return Chart("lengths", title, caption, {
            "$schema": SCHEMA, "width": WIDTH, "height": HEIGHT,
            "data": {"values": data["lengths"]}, **layer})
    return Chart("lengths", title, caption, {
        "$schema": SCHEMA, "data": {"values": data["lengths"]},
        "facet": {"field": "segment", "type": "nominal", "title": None},
        "columns": 3, "spec": {"width": 190, "height": 110, **layer},
        "resolve": {"scale": {"x": "independent", "y": "independent"}},
    })


def _shares(data, why) -> Chart:
    caption = ("Share of genomes (distinct accessions) that are complete, from RefSeq, "
               "annotated, from a lab host and from a vaccine strain, in percent")
    title = "Shares"
    if not data["shares"]:
        return no_data("shares", title, caption, why or "the data report has no genomes")
    return Chart("shares", title, caption, _bar(data["shares"], {
        "y": {"field": "share", "type": "nominal", "title": None, "sort": None},
        "x": {"field": "percent", "type": "quantitative", "title": "percent of genomes",
              "scale": {"domain": [0, 100]}},
        "color": {"value": "#2b7bba"},
        "tooltip": [{"field": "share"}, {"field": "genomes"}, {"field": "total"},
                    {"field": "percent"}],
    }, height={"step": 22}))


def _stacked(id, title, caption, rows, x, keys) -> Chart:
    values = [{x: r[x], "label": r.get("label", ""), "kind": k, "genomes": r[k]}
              for r in rows for k in keys]
    return Chart(id, title, caption, _bar(values, {
        "x": {"field": x, "type": "ordinal", "axis": {"labelAngle": 0}},
        "y": {"field": "genomes", "type": "quantitative", "aggregate": "sum",
              "title": "genomes"},
        "color": {"field": "kind", "type": "nominal", "title": None,
                  "scale": {"domain": keys, "range": [LOAD_COLORS[k] for k in keys]}},
        "tooltip": [{"field": x}, {"field": "label"}, {"field": "kind"},
                    {"field": "genomes"}],
    }))


def _loads(data) -> Chart:
    caption = ("Genomes each `vpkg load` into this warehouse added (new accessions) and "
               "replaced (a newer update_date), from its packages table")
    title = "Genomes per load"
    if not data["loads"]:
        return no_data("loads", title, caption, "the warehouse records no load")
    rows = [{**r, "label": f"{r['loaded_at']} {r['file'].rsplit('/', 1)[-1]}"}
            for r in data["loads"]]
    return _stacked("loads", title, caption, rows, "load", ["new", "updated"])


def _sync(data) -> Chart:
    caption = "Genomes added, updated and withdrawn by each `vpkg sync` run, from its run table"
    title = "Genomes per sync run"
    if data["sync_runs"] is None:
        return no_data("sync-runs", title, caption,
                       "this warehouse has no table of vpkg sync runs (it is kept by vpkg load)")
    if not data["sync_runs"]:
        return no_data("sync-runs", title, caption, "the table of sync runs is empty")
    rows = [{**r, "label": r["started"]} for r in data["sync_runs"]]
    return _stacked("sync-runs", title, caption, rows, "run", ["added", "updated", "withdrawn"])
