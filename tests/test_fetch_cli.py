"""`vpkg download` on the command line, through `vpkg.cli.main`, against the test server."""

from __future__ import annotations

import io

import pytest
from ncbi_server import error, ncbi_fixture  # noqa: F401  (fixture)

from vpkg.cli import main

KEY = "0123456789abcdefSECRETKEY"


def run(ncbi, capsys, *argv):
    code = main(["download", *argv])
    out, err = capsys.readouterr()
    assert ncbi.problems == []
    return code, out, err


def test_single_argument_is_split_on_commas(ncbi, tmp_path, capsys):
    dest = tmp_path / "sars.zip"
    code, out, err = run(ncbi, capsys, "NC_045512.2,OQ282284.1", "--filename", str(dest))
    assert (code, out, err) == (0, f"{dest}\n", "")
    assert ncbi.requests[0].path == (
        "/datasets/v2/virus/accession/NC_045512.2,OQ282284.1/genome/download"
    )
    assert ncbi.requests[0].raw_query == "include_sequence=GENOME"
    assert dest.read_bytes() == ncbi.package.read_bytes()


def test_several_arguments(ncbi, tmp_path, capsys):
    dest = str(tmp_path / "x.zip")
    code, _, _ = run(ncbi, capsys, "NC_045512.2", "OQ282284.1", "--filename", dest)
    assert code == 0
    assert ncbi.requests[0].path.split("/")[5] == "NC_045512.2,OQ282284.1"


def test_every_flag_maps_to_its_wire_name(ncbi, tmp_path, capsys):
    code, _, _ = run(
        ncbi, capsys, "NC_038294.1",
        "--include", "genome,CDS,protein,biosample",
        "--refseq", "--annotated", "--complete-only",
        "--host", "9606", "--geo-location", "USA", "--usa-state", "ca", "--lineage", "LP.8.1",
        "--released-after", "2025-01-15", "--updated-after", "2025-01-15",
        "--taxon", "1335626", "--taxon", "11118", "--use-psg",
        "--filename", str(tmp_path / "x.zip"), "--no-progressbar",
    )
    assert code == 0
    assert ncbi.requests[0].raw_query == (
        "taxons=1335626&taxons=11118&refseq_only=true&annotated_only=true"
        "&released_since=2025-01-15T00:00:00Z&updated_since=2025-01-15T00:00:00Z"
        "&host=9606&pangolin_classification=LP.8.1&geo_location=USA&usa_state=CA"
        "&complete_only=true&include_sequence=GENOME&include_sequence=CDS"
        "&include_sequence=PROTEIN&aux_report=BIOSAMPLE_REPORT&use_psg=true"
    )


@pytest.mark.parametrize(
    ("include", "query"),
    [
        ("annotation", "include_sequence=NONE&aux_report=ANNOTATION"),
        ("none", "include_sequence=NONE"),
        ("protein,annotation", "include_sequence=PROTEIN&aux_report=ANNOTATION"),
    ],
)
def test_include_reports_only(ncbi, tmp_path, capsys, include, query):
    code, _, _ = run(ncbi, capsys, "A1", "--include", include, "--filename", str(tmp_path / "x"))
    assert code == 0
    assert ncbi.requests[0].raw_query == query


def test_inputfile(ncbi, tmp_path, capsys):
    listing = tmp_path / "acc.txt"
    listing.write_text("NC_045512.2\n\n  OQ282284.1  \nMN908947.3\n")
    code, _, _ = run(ncbi, capsys, "--inputfile", str(listing), "--filename", str(tmp_path / "x"))
    assert code == 0
    assert ncbi.requests[0].path.split("/")[5] == "NC_045512.2,OQ282284.1,MN908947.3"


def test_inputfile_from_stdin(ncbi, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("NC_045512.2\nOQ282284.1\n"))
    code, _, _ = run(ncbi, capsys, "--inputfile", "-", "--filename", str(tmp_path / "x.zip"))
    assert code == 0
    assert ncbi.requests[0].path.split("/")[5] == "NC_045512.2,OQ282284.1"


def test_long_inputfile_is_posted(ncbi, tmp_path, capsys):
    accessions = [f"OQ{n:06d}.1" for n in range(1000)]
    (tmp_path / "acc.txt").write_text("\n".join(accessions))
    code, _, _ = run(
        ncbi, capsys, "--inputfile", str(tmp_path / "acc.txt"), "--filename", str(tmp_path / "x")
    )
    assert code == 0
    assert ncbi.requests[0].method == "POST"
    assert ncbi.requests[0].json["accessions"] == accessions


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["A1", "--inputfile", "x.txt"], "either as arguments or with --inputfile, not both"),
        ([], "no accessions"),
        (["--inputfile", "/nonexistent/acc.txt"], "--inputfile: cannot read /nonexistent/acc.txt"),
        (["A1", "--include", "genome,rna"], "'rna' is not one of genome, cds, protein"),
        (["A1", "--usa-state", "ZZ"], "(option --usa-state)"),
        (["A1", "--released-after", "01/15/2025"], "(option --released-after)"),
        (["A1", "--filename", "/nonexistent/x.zip"], "(option --filename)"),
        (["bad accession"], "is not a nucleotide accession"),
    ],
)
def test_bad_input_is_one_line_on_stderr_and_no_request(ncbi, capsys, argv, message):
    code, out, err = run(ncbi, capsys, *argv)
    assert code == 1
    assert out == ""
    assert err.startswith("vpkg download: error: ") and err.count("\n") == 1
    assert message in err
    assert ncbi.requests == []


def test_empty_inputfile(ncbi, tmp_path, capsys):
    (tmp_path / "empty.txt").write_text("\n  \n")
    code, _, err = run(ncbi, capsys, "--inputfile", str(tmp_path / "empty.txt"))
    assert code == 1
    assert "no accessions read from" in err


def test_server_error_is_one_line_with_ncbi_message(ncbi, tmp_path, capsys):
    ncbi.script(error(404, "Your request is invalid."))
    code, out, err = run(ncbi, capsys, "A1", "--filename", str(tmp_path / "x.zip"))
    assert (code, out) == (1, "")
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "HTTP 404" in err and "Your request is invalid." in err
    assert list(tmp_path.iterdir()) == []


def test_api_key_flag_sent_and_never_printed(ncbi, tmp_path, capsys):
    code, out, err = run(ncbi, capsys, "A1", "--api-key", KEY, "--filename", str(tmp_path / "a"))
    assert code == 0
    assert ncbi.requests[0].headers["api-key"] == KEY
    ncbi.script(error(400, f"bad key {KEY}"))
    code2, out2, err2 = run(ncbi, capsys, "A1", "--api-key", KEY, "--filename", str(tmp_path / "b"))
    assert code2 == 1
    assert "bad key ***" in err2
    assert KEY not in out + err + out2 + err2


def test_api_key_from_environment(ncbi, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("NCBI_API_KEY", KEY)
    code, _, _ = run(ncbi, capsys, "A1", "--filename", str(tmp_path / "x.zip"))
    assert code == 0
    assert ncbi.requests[0].headers["api-key"] == KEY


def test_help_lists_the_official_flag_names(capsys):
    with pytest.raises(SystemExit):
        main(["download", "--help"])
    text = capsys.readouterr().out
    for flag in (
        "--inputfile", "--include", "--refseq", "--annotated", "--complete-only", "--host",
        "--geo-location", "--usa-state", "--lineage", "--released-after", "--updated-after",
        "--taxon", "--use-psg", "--filename", "--api-key", "--no-progressbar",
    ):
        assert flag in text
