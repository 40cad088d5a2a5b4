"""`vpkg export`: one Parquet file (or dataset) per table, progress bar only on a terminal."""

from __future__ import annotations

import sys

import pyarrow.dataset as ds
import pyarrow.parquet as pq
from conftest import CONSTRUCTED, zip_members

import vpkg
from vpkg.cli import main

ALL = CONSTRUCTED / "sars-cov-2_all_members.constructed.zip"


def test_export_every_real_package(real_zip, tmp_path, capsys):
    assert main(["export", str(real_zip), "-o", str(tmp_path)]) == 0
    pkg = vpkg.open_package(real_zip)
    out = capsys.readouterr().out.splitlines()
    assert len(out) == len(pkg.tables())
    for table, line in zip(pkg.tables(), out, strict=True):
        path = tmp_path / f"{table}.parquet"
        assert line == f"{path}\t{pkg.table(table).num_rows} rows"
        assert pq.read_table(path).equals(pkg.table(table))


def test_export_partitioned_and_selected_tables(tmp_path, capsys):
    assert main(["export", str(ALL), "-o", str(tmp_path), "--partition-by", "collection_year",
                 "--tables", "genomes,protein_sequences", "--format", "parquet"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [f"{tmp_path / 'genomes'}/\t5 rows, partitioned by collection_year",
                   f"{tmp_path / 'protein_sequences.parquet'}\t190 rows"]
    assert ds.dataset(tmp_path / "genomes").count_rows() == 5


def test_export_errors_are_one_line(tmp_path, capsys):
    assert main(["export", str(ALL), "-o", str(tmp_path), "--partition-by", "nope"]) == 1
    assert capsys.readouterr().err.startswith("vpkg export: error: partition column 'nope'")
    assert main(["export", str(CONSTRUCTED / "empty.constructed.zip"), "-o", str(tmp_path),
                 "--tables", "cds_sequences"]) == 1
    assert "cds.fna" in capsys.readouterr().err


def test_progress_bar_on_a_terminal_only(tmp_path, capsys, monkeypatch):
    args = ["export", str(ALL), "-o", str(tmp_path), "--tables", "genomes"]
    assert main(args) == 0
    assert capsys.readouterr().err == ""  # not a terminal
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    assert main(args) == 0
    err = capsys.readouterr().err
    assert "data_report.jsonl" in err and "100%" in err
    assert main([*args, "--no-progressbar"]) == 0
    assert capsys.readouterr().err == ""


def test_progress_counts_every_byte_read():
    """A source reports each read, read1 and readline of its member to the bar."""
    import io

    from vpkg.sources import _counting_reader

    counted = []
    data = zip_members(ALL)["ncbi_dataset/data/data_report.jsonl"]
    stream = _counting_reader(counted.append, io.BytesIO(data))
    first = stream.readline()
    assert first == data.split(b"\n")[0] + b"\n"
    assert stream.read1(10) == data[len(first):len(first) + 10]
    rest = stream.read()
    assert first + data[len(first):len(first) + 10] + rest == data
    assert sum(counted) == len(data) and len(counted) == 3
