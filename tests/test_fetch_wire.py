"""Every parameter reaches the wire exactly as the spec and ../shared/ncbi/api.md say.

The server checks each request against fixtures/spec/openapi.yaml and answers 400 to any
violation (unknown name, bad enum, comma-joined array, bare date...), so `problems == []`
is asserted alongside the exact query string.
"""

from __future__ import annotations

import json
import zipfile
from datetime import date, datetime, timedelta, timezone

import pytest
from ncbi_server import (  # noqa: F401  (fixtures)
    REAL,
    fake_time_fixture,
    ncbi_fixture,
    policy_fixture,
    validate,
)

import vpkg

SEED = "NC_038294.1"
PATH = "/datasets/v2/virus/accession/{}/genome/download"


def fetch(ncbi, tmp_path, policy, accessions=SEED, **params):
    dest = vpkg.download(accessions, tmp_path / "out.zip", retry_policy=policy, **params)
    assert dest == tmp_path / "out.zip"
    record = ncbi.requests[-1]
    assert record.problems == []
    return record


# (parameter, value, exact raw query); include_sequence=GENOME is the default, always sent
CASES = [
    ("include_sequence", None, "include_sequence=GENOME"),
    (
        "include_sequence",
        ["GENOME", "CDS", "PROTEIN"],
        "include_sequence=GENOME&include_sequence=CDS&include_sequence=PROTEIN",
    ),
    ("include_sequence", "none", "include_sequence=NONE"),
    (
        "aux_report",
        ["ANNOTATION", "BIOSAMPLE"],
        "include_sequence=GENOME&aux_report=ANNOTATION&aux_report=BIOSAMPLE_REPORT",
    ),
    ("aux_report", "DATASET_REPORT", "include_sequence=GENOME&aux_report=DATASET_REPORT"),
    ("refseq_only", True, "refseq_only=true&include_sequence=GENOME"),
    ("refseq_only", False, "include_sequence=GENOME"),
    ("annotated_only", True, "annotated_only=true&include_sequence=GENOME"),
    ("complete_only", True, "complete_only=true&include_sequence=GENOME"),
    ("released_since", "2025-01-15", "released_since=2025-01-15T00:00:00Z&include_sequence=GENOME"),
    (
        "released_since",
        datetime(2025, 1, 15, 1, tzinfo=timezone(timedelta(hours=2))),
        "released_since=2025-01-14T23:00:00Z&include_sequence=GENOME",
    ),
    (
        "updated_since",
        date(2024, 2, 29),
        "updated_since=2024-02-29T00:00:00Z&include_sequence=GENOME",
    ),
    ("host", 9606, "host=9606&include_sequence=GENOME"),
    ("host", "Felis catus", "host=Felis%20catus&include_sequence=GENOME"),
    ("pangolin_classification", "LP.8.1", "pangolin_classification=LP.8.1&include_sequence=GENOME"),
    ("geo_location", "USA", "geo_location=USA&include_sequence=GENOME"),
    ("usa_state", "tx", "usa_state=TX&include_sequence=GENOME"),
    ("taxons", ["1335626", 11118], "taxons=1335626&taxons=11118&include_sequence=GENOME"),
    ("use_psg", True, "include_sequence=GENOME&use_psg=true"),
    ("use_psg", False, "include_sequence=GENOME&use_psg=false"),
]


@pytest.mark.parametrize(
    ("name", "value", "raw"), CASES, ids=[f"{c[0]}={c[1]!s}" for c in CASES]
)
def test_parameter_wire_form(ncbi, tmp_path, policy, name, value, raw):
    params = {} if value is None else {name: value}
    record = fetch(ncbi, tmp_path, policy, **params)
    assert record.method == "GET"
    assert record.path == PATH.format(SEED)
    assert record.raw_query == raw


def test_accessions_are_comma_joined_in_the_path(ncbi, tmp_path, policy):
    record = fetch(ncbi, tmp_path, policy, accessions=["NC_045512.2", "OQ282284.1"])
    assert record.raw_target.split("?")[0] == PATH.format("NC_045512.2,OQ282284.1")


def test_seed_example_with_every_filter(ncbi, tmp_path, policy):
    """../shared/ncbi/api.md 2.3a: the documented example, sent the way the live API accepts it."""
    record = fetch(
        ncbi,
        tmp_path,
        policy,
        taxons="1335626",
        refseq_only=True,
        annotated_only=True,
        released_since="2025-01-15",
        updated_since="2025-01-15",
        host="9606",
        pangolin_classification="LP.8.1",
        geo_location="USA",
        usa_state="CA",
        complete_only=True,
        include_sequence=["GENOME", "CDS", "PROTEIN"],
        aux_report="BIOSAMPLE",
    )
    assert record.path == "/datasets/v2/virus/accession/NC_038294.1/genome/download"
    assert record.raw_query == (
        "taxons=1335626&refseq_only=true&annotated_only=true"
        "&released_since=2025-01-15T00:00:00Z&updated_since=2025-01-15T00:00:00Z"
        "&host=9606&pangolin_classification=LP.8.1&geo_location=USA&usa_state=CA"
        "&complete_only=true&include_sequence=GENOME&include_sequence=CDS"
        "&include_sequence=PROTEIN&aux_report=BIOSAMPLE_REPORT"
    )
    assert "filter." not in record.raw_query


def test_long_list_is_one_post_with_a_json_body(ncbi, tmp_path, policy):
    accessions = [f"MN{n:06d}.1" for n in range(3000)]
    record = fetch(
        ncbi,
        tmp_path,
        policy,
        accessions=accessions,
        include_sequence=["GENOME", "PROTEIN"],
        aux_report=["BIOSAMPLE"],
        refseq_only=True,
        annotated_only=True,
        complete_only=True,
        released_since="2025-01-15",
        updated_since=date(2025, 2, 1),
        host="Homo sapiens",
        pangolin_classification="LP.8.1",
        geo_location="USA",
        usa_state="CA",
        taxons=[2697049],
        use_psg=False,
    )
    assert len(ncbi.requests) == 1
    assert (record.method, record.raw_target) == ("POST", "/datasets/v2/virus/genome/download")
    assert record.headers["content-type"] == "application/json"
    assert record.json == {
        "accessions": accessions,
        "taxons": ["2697049"],
        "refseq_only": True,
        "annotated_only": True,
        "released_since": "2025-01-15T00:00:00Z",
        "updated_since": "2025-02-01T00:00:00Z",
        "host": "Homo sapiens",
        "pangolin_classification": "LP.8.1",
        "geo_location": "USA",
        "usa_state": "CA",
        "complete_only": True,
        "include_sequence": ["GENOME", "PROTEIN"],
        "aux_report": ["BIOSAMPLE_REPORT"],
        "use_psg": False,
    }


def test_post_body_leaves_out_unset_filters(ncbi, tmp_path, policy):
    accessions = [f"OQ{n:06d}.1" for n in range(200)]
    record = fetch(ncbi, tmp_path, policy, accessions=accessions)
    assert record.method == "POST"
    assert json.loads(record.body) == {"accessions": accessions, "include_sequence": ["GENOME"]}


def test_package_served_is_saved_byte_for_byte(ncbi, tmp_path, policy):
    ncbi.package = REAL / "Rotavirus_J.zip"
    fetch(ncbi, tmp_path, policy)
    assert (tmp_path / "out.zip").read_bytes() == ncbi.package.read_bytes()
    with zipfile.ZipFile(tmp_path / "out.zip") as zf:
        assert "md5sum.txt" in zf.namelist()


def test_bad_parameter_sends_no_request(ncbi, tmp_path, policy):
    with pytest.raises(vpkg.ParameterError) as info:
        vpkg.download(SEED, tmp_path / "out.zip", usa_state="ZZ", retry_policy=policy)
    assert info.value.parameter == "usa_state"
    assert ncbi.requests == []
    assert list(tmp_path.iterdir()) == []


# ---- the test server really enforces the spec (so the assertions above mean something) ----
DOWNLOAD = "/datasets/v2/virus/accession/NC_038294.1/genome/download"


@pytest.mark.parametrize(
    ("query", "problem"),
    [
        ([("filter.refseq_only", "true")], "unknown query parameter 'filter.refseq_only'"),
        ([("include_sequence", "GENOME,CDS")], "'GENOME,CDS' is not one of"),
        ([("include_sequence", "['GENOME', 'CDS']")], "is not one of"),
        ([("aux_report", "BIOSAMPLE")], "'BIOSAMPLE' is not one of"),
        ([("released_since", "2025-01-15")], "not an RFC 3339 date-time"),
        ([("refseq_only", "True")], "not a boolean"),
        ([("host", "9606"), ("host", "10090")], "host: not an array, but given 2 times"),
        ([("exclude_sequence", "true")], "unknown query parameter 'exclude_sequence'"),
    ],
)
def test_server_rejects_what_the_spec_forbids(query, problem):
    problems = validate("GET", DOWNLOAD, query, b"")
    assert any(problem in p for p in problems), problems


def test_server_checks_post_bodies_against_the_schema():
    path = "/datasets/v2/virus/genome/download"
    good = {
        "accessions": ["A1"],
        "include_sequence": ["GENOME"],
        "released_since": "2025-01-15T00:00:00Z",
    }
    assert validate("POST", path, [], json.dumps(good).encode()) == []
    bad = {"accessions": "A1", "refseq": True, "aux_report": ["BIOSAMPLE"]}
    assert validate("POST", path, [], json.dumps(bad).encode()) == [
        "body: unknown field 'refseq'",
        "body.accessions: expected an array",
        "body.aux_report[]: 'BIOSAMPLE' is not one of "
        "['DATASET_REPORT', 'ANNOTATION', 'BIOSAMPLE_REPORT']",
    ]


def test_server_answers_400_with_an_ncbi_error_body_to_a_bad_request(ncbi):
    import requests

    response = requests.get(ncbi.base_url + "/virus/accession/A1/genome/download?refseq=true")
    assert response.status_code == 400
    assert response.json()["error"] == "Bad Request"
    assert "unknown query parameter 'refseq'" in response.json()["message"]
