"""Validation and normalisation of download parameters, before anything reaches the network."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from vpkg.errors import ParameterError, VpkgError
from vpkg.fetch.params import (
    DEFAULT_BASE_URL,
    GET_URL_LIMIT,
    DownloadRequest,
    build_request,
    parse_accessions,
    resolve_api_key,
    resolve_base_url,
    resolve_dest,
    to_timestamp,
)


def test_accessions_string_iterable_and_commas_are_deduplicated_in_order():
    assert parse_accessions("NC_045512.2") == ("NC_045512.2",)
    assert parse_accessions(" NC_045512.2 , OQ282284.1,") == ("NC_045512.2", "OQ282284.1")
    assert parse_accessions(iter(["B1", "A1", "B1"])) == ("B1", "A1")


@pytest.mark.parametrize("bad", ["", [], ["NC 045512"], ["NC_045512.2/x"], ["../etc"], [5]])
def test_bad_accessions_name_the_parameter(bad):
    with pytest.raises(ParameterError) as info:
        parse_accessions(bad)
    assert info.value.parameter == "accessions"
    assert "accession" in str(info.value)


@pytest.mark.parametrize(
    ("value", "wire"),
    [
        ("2025-01-15", "2025-01-15T00:00:00Z"),
        (" 2025-01-15 ", "2025-01-15T00:00:00Z"),
        (date(2025, 1, 15), "2025-01-15T00:00:00Z"),
        (datetime(2025, 1, 15, 8, 30), "2025-01-15T08:30:00Z"),
        (datetime(2025, 1, 15, 1, 0, tzinfo=timezone(timedelta(hours=2))), "2025-01-14T23:00:00Z"),
        ("2025-01-15T08:30:00Z", "2025-01-15T08:30:00Z"),
        ("2025-01-15T08:30:00+01:00", "2025-01-15T07:30:00Z"),
        ("2025-01-15 08:30:00.250000", "2025-01-15T08:30:00.250000Z"),
    ],
)
def test_dates_become_rfc3339_utc(value, wire):
    assert to_timestamp("released_since", value) == wire


@pytest.mark.parametrize("bad", ["2025-13-01", "15/01/2025", "yesterday", "2025-1-5", 20250115])
def test_bad_dates_name_the_parameter_and_the_format(bad):
    with pytest.raises(ParameterError) as info:
        build_request("NC_045512.2", updated_since=bad)
    assert info.value.parameter == "updated_since"
    assert "YYYY-MM-DD" in str(info.value)


def test_include_sequence_is_normalised_and_defaults_to_genome():
    assert build_request("A1").include_sequence == ("GENOME",)
    assert build_request("A1", include_sequence="cds, protein").include_sequence == (
        "CDS",
        "PROTEIN",
    )
    assert build_request("A1", include_sequence=["NONE"]).include_sequence == ("NONE",)


@pytest.mark.parametrize(
    ("value", "needle"),
    [
        (["GENOME", "RNA"], "'RNA' is not one of GENOME, CDS, PROTEIN, NONE"),
        (["NONE", "CDS"], "NONE cannot be combined with CDS"),
        ([], "include_sequence is empty"),
        (None, "pass 'NONE' for no sequence files"),
        (3, "GENOME, CDS, PROTEIN, NONE"),
    ],
)
def test_bad_include_sequence_lists_allowed_values(value, needle):
    with pytest.raises(ParameterError) as info:
        build_request("A1", include_sequence=value)
    assert info.value.parameter == "include_sequence"
    assert needle in str(info.value)


def test_aux_report_accepts_the_spec_example_biosample():
    assert build_request("A1", aux_report="BIOSAMPLE").aux_report == ("BIOSAMPLE_REPORT",)
    assert build_request("A1", aux_report=["annotation", "biosample_report"]).aux_report == (
        "ANNOTATION",
        "BIOSAMPLE_REPORT",
    )
    assert build_request("A1").aux_report == ()


def test_bad_aux_report_lists_allowed_values():
    with pytest.raises(ParameterError) as info:
        build_request("A1", aux_report=["GENES"])
    assert info.value.parameter == "aux_report"
    assert "DATASET_REPORT, ANNOTATION, BIOSAMPLE_REPORT (or BIOSAMPLE)" in str(info.value)


def test_usa_state_is_upper_cased_and_checked():
    assert build_request("A1", usa_state="ca").usa_state == "CA"
    with pytest.raises(ParameterError) as info:
        build_request("A1", usa_state="California")
    assert info.value.parameter == "usa_state"
    assert "CA" in str(info.value) and "TX" in str(info.value)


@pytest.mark.parametrize("name", ["refseq_only", "annotated_only", "complete_only", "use_psg"])
def test_flags_must_be_booleans(name):
    with pytest.raises(ParameterError) as info:
        build_request("A1", **{name: "yes"})
    assert info.value.parameter == name
    assert "True" in str(info.value)


@pytest.mark.parametrize("name", ["host", "pangolin_classification", "geo_location", "taxons"])
def test_text_filters_reject_empty_and_control_characters(name):
    for bad in ("", "a\nb"):
        with pytest.raises(ParameterError) as info:
            build_request("A1", **{name: bad})
        assert info.value.parameter == name


def test_host_and_taxons_accept_taxids_as_int():
    request = build_request("A1", host=9606, taxons=[2697049, "1335626", 2697049])
    assert (request.host, request.taxons) == ("9606", ("2697049", "1335626"))


def test_unknown_parameter_is_refused():
    with pytest.raises(ParameterError) as info:
        build_request("A1", exclude_sequence=True)
    assert info.value.parameter == "exclude_sequence"


def test_parameter_error_is_a_vpkg_error_and_a_value_error():
    with pytest.raises(VpkgError):
        build_request("A1", usa_state="ZZ")
    with pytest.raises(ValueError):
        build_request("A1", usa_state="ZZ")


def test_query_and_body_leave_out_unset_filters():
    request = build_request("A1")
    assert request.query() == [("include_sequence", "GENOME")]
    assert request.body() == {"accessions": ["A1"], "include_sequence": ["GENOME"]}


def test_short_lists_use_get_long_lists_a_single_post():
    base = DEFAULT_BASE_URL
    fits, n = [], 0
    while True:
        candidate = [*fits, f"MN{n:06d}.1"]
        if len(build_request(candidate).get_url(base)) > GET_URL_LIMIT:
            break
        fits, n = candidate, n + 1
    method, url, body = build_request(fits).http(base)
    assert (method, body) == ("GET", None)
    assert len(url) <= GET_URL_LIMIT
    method, url, body = build_request([*fits, f"MN{n:06d}.1"]).http(base)
    assert (method, url) == ("POST", f"{base}/virus/genome/download")
    assert len(body["accessions"]) == len(fits) + 1


def test_api_key_comes_from_argument_then_environment(monkeypatch):
    monkeypatch.setenv("NCBI_API_KEY", " env-key ")
    assert resolve_api_key(None) == "env-key"
    assert resolve_api_key("arg-key") == "arg-key"
    monkeypatch.setenv("NCBI_API_KEY", "")
    assert resolve_api_key(None) is None
    monkeypatch.delenv("NCBI_API_KEY")
    assert resolve_api_key(None) is None


def test_bad_api_key_is_refused_without_echoing_it():
    with pytest.raises(ParameterError) as info:
        resolve_api_key("abc def-SECRET")
    assert info.value.parameter == "api_key"
    assert "SECRET" not in str(info.value)


def test_base_url_from_argument_environment_or_default(monkeypatch):
    monkeypatch.delenv("VPKG_BASE_URL", raising=False)
    assert resolve_base_url(None) == DEFAULT_BASE_URL
    monkeypatch.setenv("VPKG_BASE_URL", "http://mirror.example/datasets/v2/")
    assert resolve_base_url(None) == "http://mirror.example/datasets/v2"
    assert resolve_base_url("https://other.example/v2") == "https://other.example/v2"
    with pytest.raises(ParameterError) as info:
        resolve_base_url("ftp://mirror.example")
    assert info.value.parameter == "base_url"


def test_dest_must_be_a_file_in_an_existing_folder(tmp_path):
    assert resolve_dest(tmp_path / "x.zip") == tmp_path / "x.zip"
    with pytest.raises(ParameterError, match="is a directory"):
        resolve_dest(tmp_path)
    with pytest.raises(ParameterError, match="does not exist"):
        resolve_dest(tmp_path / "missing" / "x.zip")


def test_request_is_immutable():
    request = build_request("A1")
    assert isinstance(request, DownloadRequest)
    with pytest.raises(AttributeError):
        request.host = "9606"
