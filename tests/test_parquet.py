"""pkg.to_parquet(): streaming zstd Parquet, provenance metadata, partitions, atomic output."""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from conftest import CONSTRUCTED, build_zip, zip_members

import vpkg
from vpkg.schema import schema

ALL = CONSTRUCTED / "sars-cov-2_all_members.constructed.zip"
EMPTY = CONSTRUCTED / "empty.constructed.zip"
DATA = "ncbi_dataset/data"
META_KEYS = {b"vpkg.package_file", b"vpkg.package_md5", b"vpkg.api_version", b"vpkg.version",
             b"vpkg.table", b"vpkg.member"}


def files_under(folder: Path) -> list[Path]:
    return sorted(Path(r, f) for r, _, fs in os.walk(folder) for f in fs)


def test_real_package_round_trip_and_metadata(real_zip, tmp_path):
    pkg = vpkg.open_package(real_zip)
    done = pkg.to_parquet(tmp_path)
    assert [d.path for d in done] == [tmp_path / f"{t}.parquet" for t in pkg.tables()]
    md5 = hashlib.md5(real_zip.read_bytes()).hexdigest()
    with zipfile.ZipFile(real_zip) as zf:
        api = json.loads(zf.read(f"{DATA}/dataset_catalog.json"))["apiVersion"]
        reports = [ln for ln in zf.read(f"{DATA}/data_report.jsonl").splitlines() if ln.strip()]
        headers = zf.read(f"{DATA}/genomic.fna").count(b"\n>") + 1
    for item in done:
        back = pq.read_table(item.path)
        assert back.equals(pkg.table(item.table))
        assert back.schema.equals(schema(item.table))  # large_string, non-null kept
        meta = pq.read_metadata(item.path).metadata
        assert META_KEYS <= set(meta)
        assert meta[b"vpkg.package_md5"].decode() == md5
        assert meta[b"vpkg.package_file"].decode() == real_zip.name
        assert meta[b"vpkg.api_version"].decode() == api
        assert meta[b"vpkg.version"].decode() == vpkg.__version__
        assert meta[b"vpkg.table"].decode() == item.table
    assert {d.table: d.rows for d in done} == {"genomes": len(reports),
                                               "genome_sequences": headers}
    # exactly the table files: no temporary folder left
    assert sorted(os.listdir(tmp_path)) == sorted(f"{t}.parquet" for t in pkg.tables())


def test_encoding_compression_and_statistics(tmp_path):
    done = vpkg.open_package(ALL).to_parquet(tmp_path)
    for item in done:
        meta = pq.read_metadata(item.path)
        for g in range(meta.num_row_groups):
            for c in range(meta.num_columns):
                column = meta.row_group(g).column(c)
                assert column.compression == "ZSTD"
                if column.path_in_schema == "sequence":
                    assert not any("DICTIONARY" in e for e in column.encodings)
                    assert column.statistics is None
        if item.table in ("genomes", "annotations"):
            accession = meta.row_group(0).column(0)
            assert accession.path_in_schema == "accession"
            assert "RLE_DICTIONARY" in accession.encodings and accession.statistics is not None
        if item.table == "genomes":
            paths = {meta.schema.column(c).path: c for c in range(meta.num_columns)}
            lineage = meta.row_group(0).column(paths["virus_lineage.list.element.name"])
            assert "RLE_DICTIONARY" in lineage.encodings and lineage.statistics is None
            year = meta.row_group(0).column(paths["collection_year"])
            assert year.statistics is not None and year.statistics.has_min_max


def test_row_groups_follow_the_limits(tmp_path):
    pkg = vpkg.open_package(ALL)
    done = pkg.to_parquet(tmp_path / "rows", tables=["cds_sequences"], row_group_rows=7)
    meta = pq.read_metadata(done[0].path)
    assert [meta.row_group(i).num_rows for i in range(meta.num_row_groups)] == [7] * 8 + [4]
    done = pkg.to_parquet(tmp_path / "bytes", tables=["genome_sequences"],
                          row_group_bytes=60_000)  # a genome is ~30 kB
    meta = pq.read_metadata(done[0].path)
    assert [meta.row_group(i).num_rows for i in range(meta.num_row_groups)] == [2, 2, 1]
    assert pq.read_table(done[0].path).equals(pkg.table("genome_sequences"))


def test_constructed_package_row_counts_from_the_members(tmp_path):
    members = zip_members(ALL)
    ann = [json.loads(ln) for ln in members[f"{DATA}/annotation_report.jsonl"].splitlines()]
    expected = {
        "genomes": len(members[f"{DATA}/data_report.jsonl"].splitlines()),
        "genome_sequences": members[f"{DATA}/genomic.fna"].count(b">"),
        "cds_sequences": members[f"{DATA}/cds.fna"].count(b">"),
        "protein_sequences": members[f"{DATA}/protein.faa"].count(b">"),
        "annotations": sum(max(1, len(g.get("cds", []))) for r in ann for g in r["genes"]),
        "biosamples": len(members[f"{DATA}/biosample_report.jsonl"].splitlines()),
    }
    done = vpkg.open_package(ALL).to_parquet(tmp_path)
    assert {d.table: d.rows for d in done} == expected
    assert {d.table: pq.read_metadata(d.path).num_rows for d in done} == expected


def test_partition_by_collection_year(tmp_path):
    pkg = vpkg.open_package(ALL)
    done = {d.table: d for d in pkg.to_parquet(tmp_path, partition_by="collection_year")}
    assert done["protein_sequences"].partition_by is None  # no way to a year: one file
    assert done["protein_sequences"].path == tmp_path / "protein_sequences.parquet"
    genomes = ds.dataset(tmp_path / "genomes").to_table()
    assert genomes.num_rows == 5
    years = {r["accession"]: r["collection_year"] for r in genomes.to_pylist()}
    reports = [json.loads(ln) for ln in zip_members(ALL)[f"{DATA}/data_report.jsonl"].splitlines()]
    assert years == {r["accession"]: int(r["isolate"]["collectionDate"][:4]) for r in reports}
    # sequences take the year of their genome, by accession
    con = duckdb.connect()
    rows = con.sql(
        f"SELECT s.accession, s.collection_year, length(s.sequence) FROM read_parquet("
        f"'{tmp_path}/genome_sequences/**/*.parquet') s"
    ).fetchall()
    assert {a: y for a, y, _ in rows} == years
    assert con.sql(
        f"SELECT count(*) FROM read_parquet('{tmp_path}/annotations/**/*.parquet')"
    ).fetchall() == [(60,)]
    # BioSamples have their own collection_date; one has none
    samples = ds.dataset(tmp_path / "biosamples").to_table()
    assert samples.num_rows == 7 and None in samples.column("collection_year").to_pylist()
    assert (tmp_path / "biosamples" / "collection_year-__null__").is_dir()


def test_partition_by_a_column_reads_back_as_the_table(real_zip, tmp_path):
    pkg = vpkg.open_package(real_zip)
    done = pkg.to_parquet(tmp_path, partition_by="virus_tax_id", tables=["genomes"])
    back = ds.dataset(done[0].path).to_table()
    original = pkg.table("genomes")
    back = back.select(original.schema.names).sort_by("accession")
    assert back.to_pylist() == original.sort_by("accession").to_pylist()
    for file in files_under(done[0].path):
        assert META_KEYS <= set(pq.read_metadata(file).metadata)
        assert file.parent.name.startswith("virus_tax_id-")


def test_partition_values_are_encoded_and_stay_inside(tmp_path):
    members = zip_members(ALL)
    members.pop("md5sum.txt")
    lines = [json.loads(ln) for ln in members[f"{DATA}/data_report.jsonl"].splitlines()]
    lines[0]["location"]["geographicLocation"] = "../../escaped"
    lines[1]["location"]["geographicLocation"] = "USA: CA/Los Angeles"
    members[f"{DATA}/data_report.jsonl"] = b"\n".join(json.dumps(r).encode() for r in lines)
    pkg = vpkg.open_package(build_zip(tmp_path / "odd.zip", members))
    out = tmp_path / "out"
    done = pkg.to_parquet(out, partition_by="geo_location", tables=["genomes"])
    assert sorted(os.listdir(tmp_path)) == ["odd.zip", "out"]
    assert all(out in f.parents for f in files_under(out))
    back = ds.dataset(done[0].path).to_table()
    got = {r["accession"]: r["geo_location"] for r in back.to_pylist()}
    assert got[lines[0]["accession"]] == "../../escaped"
    assert got[lines[1]["accession"]] == "USA: CA/Los Angeles"


def test_member_paths_never_choose_output_paths(tmp_path):
    """A catalog pointing at a member with '..' in its path still writes <table>.parquet."""
    members = zip_members(CONSTRUCTED / "sars-cov-2_no_catalog.constructed.zip")
    report = members.pop(f"{DATA}/data_report.jsonl")
    evil = f"{DATA}/../../../evil/data_report.jsonl"
    members[evil] = report
    members[f"{DATA}/dataset_catalog.json"] = json.dumps({"apiVersion": "V2", "assemblies": [
        {"files": [{"filePath": "../../../evil/data_report.jsonl", "fileType": "DATA_REPORT"}]}
    ]})
    members.pop("md5sum.txt", None)
    pkg = vpkg.open_package(build_zip(tmp_path / "evil.zip", members))
    assert pkg.member_for("genomes") == evil
    out = tmp_path / "a" / "b" / "out"
    done = pkg.to_parquet(out)
    assert [d.path for d in done] == [out / f"{t}.parquet" for t in pkg.tables()]
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == sorted(
        ["evil.zip", *(f"{t}.parquet" for t in pkg.tables())])


def test_failed_export_keeps_earlier_output(tmp_path):
    pkg = vpkg.open_package(ALL)
    pkg.to_parquet(tmp_path)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    members = zip_members(ALL)
    members.pop("md5sum.txt")
    lines = members[f"{DATA}/annotation_report.jsonl"].splitlines(keepends=True)
    lines[-1] = b'{"accession": \n'
    members[f"{DATA}/annotation_report.jsonl"] = b"".join(lines)
    bad = vpkg.open_package(build_zip(tmp_path.parent / f"{tmp_path.name}-bad.zip", members))
    with pytest.raises(vpkg.FormatError, match="annotation_report.jsonl line 5"):
        bad.to_parquet(tmp_path)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_export_replaces_earlier_output(tmp_path):
    pkg = vpkg.open_package(ALL)
    pkg.to_parquet(tmp_path, partition_by="collection_year", tables=["genomes"])
    pkg.to_parquet(tmp_path, partition_by="collection_year", tables=["genomes"])
    pkg.to_parquet(tmp_path, tables=["genomes"])
    assert sorted(os.listdir(tmp_path)) == ["genomes", "genomes.parquet"]
    assert ds.dataset(tmp_path / "genomes").count_rows() == 5


def test_empty_package(tmp_path):
    pkg = vpkg.open_package(EMPTY)
    done = pkg.to_parquet(tmp_path / "flat")
    assert [(d.table, d.rows) for d in done] == [("genomes", 0), ("genome_sequences", 0)]
    assert pq.read_table(done[0].path).schema.equals(schema("genomes"))
    done = pkg.to_parquet(tmp_path / "parts", partition_by="collection_year")
    con = duckdb.connect()
    assert con.sql(f"SELECT count(*) FROM read_parquet('{done[0].path}/**/*.parquet')"
                   ).fetchall() == [(0,)]


def test_extracted_folder_records_a_listing_md5(tmp_path):
    folder = tmp_path / "pkg"
    with zipfile.ZipFile(ALL) as zf:
        zf.extractall(folder)
        listing = "".join(
            f"{hashlib.md5(zf.read(n)).hexdigest()}  {n}\n"
            for n in sorted(i.filename for i in zf.infolist() if not i.is_dir())
        )
    done = vpkg.open_package(folder).to_parquet(tmp_path / "out", tables=["genomes"])
    meta = pq.read_metadata(done[0].path).metadata
    assert meta[b"vpkg.package_md5"].decode() == hashlib.md5(listing.encode()).hexdigest()


def test_bad_partition_columns(tmp_path):
    pkg = vpkg.open_package(ALL)
    with pytest.raises(vpkg.ParameterError, match="none of genomes, .* has it or takes it"):
        pkg.to_parquet(tmp_path, partition_by="no_such_column")
    with pytest.raises(vpkg.ParameterError, match="host_lineage is a list"):
        pkg.to_parquet(tmp_path, partition_by="host_lineage")
    assert os.listdir(tmp_path) == []


def test_progress_bar_only_when_asked(tmp_path, capsys):
    pkg = vpkg.open_package(ALL)
    pkg.to_parquet(tmp_path / "a", tables=["genomes"])
    assert capsys.readouterr().err == ""  # stderr is not a terminal under pytest
    pkg.to_parquet(tmp_path / "b", tables=["genomes"], progress=True)
    err = capsys.readouterr().err
    size = len(zip_members(ALL)["ncbi_dataset/data/data_report.jsonl"])  # 12,330 bytes
    assert "data_report.jsonl: 100%" in err and f"{size / 1024:.1f}k/{size / 1024:.1f}k" in err


def test_exported_is_path_like(tmp_path):
    (item,) = vpkg.open_package(ALL).to_parquet(tmp_path, tables=["biosamples"])
    assert Path(item) == tmp_path / "biosamples.parquet"
    assert pq.read_table(item).num_rows == 7


def test_failed_partitioned_export_leaves_nothing(tmp_path):
    """The error comes from inside the dataset writer (after the first batch)."""
    members = zip_members(ALL)
    members.pop("md5sum.txt")
    lines = members[f"{DATA}/data_report.jsonl"].splitlines(keepends=True)
    lines[3] = b"{broken\n"
    members[f"{DATA}/data_report.jsonl"] = b"".join(lines)
    pkg = vpkg.open_package(build_zip(tmp_path / "bad.zip", members))
    out = tmp_path / "out"
    with pytest.raises(vpkg.FormatError, match="data_report.jsonl line 4"):
        pkg.to_parquet(out, partition_by="collection_year", tables=["genomes"], batch_size=2)
    assert not out.exists()  # the folder the export made is removed with what it held


def test_too_many_partitions_is_a_vpkg_error(tmp_path, monkeypatch):
    import pyarrow.dataset

    def refuse(*args, **kwargs):
        raise pa.ArrowInvalid("Fragment would be written into 2000 partitions")

    monkeypatch.setattr(pyarrow.dataset, "write_dataset", refuse)
    with pytest.raises(vpkg.VpkgError, match="fewer distinct values"):
        vpkg.open_package(ALL).to_parquet(tmp_path, partition_by="accession", tables=["genomes"])
