"""The derived columns of ``genomes``: collection date ranges and the INSDC location parts.

Expected values are literals read off the raw JSON lines of
``fixtures/samples/data_report.geo_dates_11_corpus.jsonl`` (real lines from the corpus),
and, for every real package, an independent parse of the raw JSON with `str.partition`
and `datetime`.
"""

from __future__ import annotations

import calendar
import datetime as dt
import json

import pytest
from conftest import REAL, SAMPLES, build_zip, zip_members

import vpkg
from vpkg.schema import schema

SAMPLE = SAMPLES / "data_report.geo_dates_11_corpus.jsonl"
D = dt.date

#: accession -> (collection_year, precision, start, end), read off the raw lines
DATES = {
    "AB973945.1": (2009, "day", D(2009, 3, 1), D(2009, 3, 1)),          # 2009-03-01
    "EU863652.1": (2007, "month", D(2007, 7, 1), D(2007, 7, 31)),       # 2007-07
    "ON014766.1": (2016, "year", D(2016, 1, 1), D(2016, 12, 31)),       # 2016
    "MF993028.1": (2016, "month", D(2016, 2, 1), D(2016, 2, 29)),       # 2016-02, leap year
    "AJ542491.1": (None, None, None, None),                             # no collectionDate
}
#: accession -> (geo_country, geo_division, geo_locality), read off the raw lines
GEO = {
    "AB973945.1": ("Japan", "Mie", "Ago bay"),                          # "Japan: Mie, Ago bay"
    "EU863652.1": ("Czech Republic", None, None),                       # no colon
    "ON014766.1": ("Iran", "Toroq", "Mashhad,Khorasan Razavi province"),  # comma, no space
    "OR365666.1": ("India", "Agarapatti", "Thondamputhur, Coimbatore, Tamil Nadu"),
    "LC571611.1": ("Japan", "Niigata", "Sato, Lake Kamo"),              # no space after ':'
    "AJ542491.1": ("Laos", "Savannakhet", None),                        # "Laos:Savannakhet"
    "DQ123818.2": (None, None, None),                                   # no location
}
DERIVED = ["collection_year", "collection_date_precision", "collection_date_start",
           "collection_date_end", "geo_country", "geo_division", "geo_locality"]


def package_of(tmp_path, lines: bytes):
    return vpkg.open_package(build_zip(tmp_path / "p.zip", {"data_report.jsonl": lines}))


def rows_of(table) -> dict:
    return {r["accession"]: r for r in table.to_pylist()}


def test_literal_values_from_real_lines(tmp_path):
    rows = rows_of(package_of(tmp_path, SAMPLE.read_bytes()).table("genomes"))
    for accession, expected in DATES.items():
        got = rows[accession]
        assert (got["collection_year"], got["collection_date_precision"],
                got["collection_date_start"], got["collection_date_end"]) == expected, accession
    for accession, expected in GEO.items():
        got = rows[accession]
        assert (got["geo_country"], got["geo_division"], got["geo_locality"]) == expected
    # the verbatim text stays beside the derived columns
    assert rows["MF993028.1"]["collection_date"] == "2016-02"
    assert rows["LC571611.1"]["geo_location"] == "Japan:Niigata, Sato, Lake Kamo"


def test_columns_sit_beside_their_text():
    names = schema("genomes").names
    at = names.index("collection_date")
    assert names[at:at + 5] == ["collection_date", *DERIVED[:4]]
    at = names.index("geo_location")
    assert names[at:at + 4] == ["geo_location", *DERIVED[4:]]


def test_text_that_is_not_a_date_keeps_its_text(tmp_path):
    line = json.loads(SAMPLE.read_bytes().splitlines()[0])
    lines = []
    # constructed from a real line: impossible or other-shaped dates, odd spacing
    cases = {"2019-02-30": "  Japan :  Mie ,  Ago bay  ", "2019-13": "Japan:", "missing": ":x",
             "2019-02": "Japan: , Ago bay"}
    for i, (date, geo) in enumerate(cases.items()):
        line["accession"] = f"X{i}.1"
        line["isolate"]["collectionDate"] = date
        line["location"]["geographicLocation"] = geo
        lines.append(json.dumps(line).encode())
    rows = rows_of(package_of(tmp_path, b"\n".join(lines)).table("genomes"))
    for i in (0, 1, 2):
        assert [rows[f"X{i}.1"][c] for c in DERIVED[:4]] == [None] * 4
    assert rows["X0.1"]["collection_date"] == "2019-02-30"
    assert rows["X3.1"]["collection_date_end"] == D(2019, 2, 28)
    assert [rows["X0.1"][c] for c in DERIVED[4:]] == ["Japan", "Mie", "Ago bay"]
    assert [rows["X1.1"][c] for c in DERIVED[4:]] == ["Japan", None, None]
    assert [rows["X2.1"][c] for c in DERIVED[4:]] == [None, "x", None]
    assert [rows["X3.1"][c] for c in DERIVED[4:]] == ["Japan", None, "Ago bay"]


def expected_from_json(record: dict) -> list:
    """The derived values of one raw record, parsed independently of vpkg."""
    text = record.get("isolate", {}).get("collectionDate")
    dates = [None] * 4
    if text:
        parts = [int(p) for p in text.split("-")]
        year = parts[0]
        if len(parts) == 1:
            dates = [year, "year", D(year, 1, 1), D(year, 12, 31)]
        elif len(parts) == 2:
            last = calendar.monthrange(year, parts[1])[1]
            dates = [year, "month", D(year, parts[1], 1), D(year, parts[1], last)]
        else:
            day = dt.datetime.strptime(text, "%Y-%m-%d").date()
            dates = [year, "day", day, day]
    geo = record.get("location", {}).get("geographicLocation")
    places = [None] * 3
    if geo is not None:
        country, _, rest = geo.partition(":")
        division, _, locality = rest.partition(",")
        places = [p.strip() or None for p in (country, division, locality)]
    return dates + places


@pytest.mark.parametrize("path", [*REAL, SAMPLE], ids=lambda p: p.name)
def test_every_real_record(path, tmp_path):
    if path.suffix == ".zip":
        raw = zip_members(path)["ncbi_dataset/data/data_report.jsonl"]
        table = vpkg.open_package(path).table("genomes")
    else:
        raw = path.read_bytes()
        table = package_of(tmp_path, raw).table("genomes")
    records = [json.loads(line) for line in raw.splitlines() if line.strip()]
    rows = rows_of(table)
    assert len(rows) == len(records)
    for record in records:
        assert [rows[record["accession"]][c] for c in DERIVED] == expected_from_json(record)


def test_python_path_adds_them_too(tmp_path):
    """V1 lines are read by the Python path only: the derived columns are there too."""
    raw = (SAMPLES / "data_report.v1_sars-cov-2.20.jsonl").read_bytes()
    rows = rows_of(package_of(tmp_path, raw).table("genomes"))
    for line in raw.splitlines():
        record = json.loads(line)
        assert [rows[record["accession"]][c] for c in DERIVED] == expected_from_json(record)
