"""Every command answers every damaged package with one line on stderr and exit status 1,
and writes nothing: no Parquet file, no warehouse change."""

from __future__ import annotations

import zipfile

import duckdb
import pytest
from conftest import REAL, build_zip, zip_members

import vpkg
from vpkg.cli import main

HANTA = next(p for p in REAL if p.stem == "Hantavirus_Z10")


def html_page(path):
    path.write_bytes(b"<!DOCTYPE html><html><body><h1>403 Forbidden</h1></body></html>\n")
    return path, "HTML page"


def json_error(path):
    path.write_bytes(b'{"error":"Bad Request","code":400,"message":"Invalid argument"}')
    return path, "looks like JSON"


def truncated(path):
    path.write_bytes(HANTA.read_bytes()[:5000])
    return path, "truncated or damaged"


def flipped_byte(path):
    raw = bytearray(HANTA.read_bytes())
    with zipfile.ZipFile(HANTA) as zf:
        info = zf.getinfo("ncbi_dataset/data/data_report.jsonl")
    raw[info.header_offset + 30 + len(info.filename) + len(info.extra) + 100] ^= 0x55
    path.write_bytes(bytes(raw))
    return path, "data_report.jsonl"


def md5_mismatch(path):
    members = zip_members(HANTA)
    members["ncbi_dataset/data/genomic.fna"] += b">extra\nACGT\n"
    return build_zip(path, members), "genomic.fna has md5"


def bad_json_line(path):
    members = zip_members(HANTA)
    lines = members["ncbi_dataset/data/data_report.jsonl"].splitlines(keepends=True)
    lines[3] = lines[3][:50] + b"\n"
    members["ncbi_dataset/data/data_report.jsonl"] = b"".join(lines)
    members.pop("md5sum.txt")  # so that only the JSON is wrong
    return build_zip(path, members), "data_report.jsonl line 4: not valid JSON"


DAMAGE = [html_page, json_error, truncated, flipped_byte, md5_mismatch, bad_json_line]
# commands whose work reads every member: each must fail on every damaged package
COMMANDS = {
    "export": lambda pkg, out: ["export", str(pkg), "-o", str(out / "parquet"),
                                "--no-progressbar"],
    "load": lambda pkg, out: ["load", str(pkg), "--db", str(out / "wh.duckdb"),
                              "--no-progressbar"],
    "sql": lambda pkg, out: ["sql", str(pkg), "SELECT count(*) FROM genomes"],
}


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


# sql reads the tables only; an md5 mismatch on well-formed members is verify's to find
CASES = [(c, d) for c in COMMANDS for d in DAMAGE if (c, d) != ("sql", md5_mismatch)]


@pytest.mark.parametrize("command, damage", CASES, ids=[f"{c}-{d.__name__}" for c, d in CASES])
def test_damaged_package_one_line_and_nothing_written(tmp_path, capsys, damage, command):
    pkg, expected = damage(tmp_path / "ncbi_dataset.zip")
    out = tmp_path / "out"
    out.mkdir()
    if command == "load":  # a warehouse holding data already must keep it
        vpkg.load([REAL[0]], out / "wh.duckdb", progress=False)
    before = sorted(p.relative_to(out) for p in out.rglob("*"))
    assert main(COMMANDS[command](pkg, out)) == 1
    line = one_error_line(capsys)
    assert line.startswith(f"vpkg {command}: error: ")
    assert expected in line
    assert sorted(p.relative_to(out) for p in out.rglob("*")
                  if not p.name.endswith(".wal")) == before
    if command == "load":
        con = duckdb.connect(str(out / "wh.duckdb"), read_only=True)
        assert con.sql("SELECT count(*) FROM genomes").fetchall() == [(2,)]
        assert con.sql("SELECT count(*) FROM packages").fetchall() == [(1,)]
        con.close()


@pytest.mark.parametrize("damage", DAMAGE, ids=[d.__name__ for d in DAMAGE])
def test_info_names_the_problem(tmp_path, capsys, damage):
    pkg, expected = damage(tmp_path / "ncbi_dataset.zip")
    status = main(["info", str(pkg)])
    captured = capsys.readouterr()
    assert status == 1
    assert "Traceback" not in captured.err
    assert expected in captured.out + captured.err
