"""pkg.to_duckdb(): one streaming view per table; joins on accession; errors as vpkg errors."""

from __future__ import annotations

import doctest
import importlib
import json

import duckdb
import pytest
from conftest import CONSTRUCTED, build_zip, zip_members

import vpkg
import vpkg.sources
from vpkg.sinks.duckdb import query

ALL = CONSTRUCTED / "sars-cov-2_all_members.constructed.zip"
EMPTY = CONSTRUCTED / "empty.constructed.zip"
DATA = "ncbi_dataset/data"


def fasta(data: bytes) -> dict[str, str]:
    """First word of each header -> sequence, parsed here independently of vpkg."""
    out = {}
    for chunk in data.decode().split(">")[1:]:
        header, _, body = chunk.partition("\n")
        out[header.split()[0]] = "".join(body.split())
    return out


def reports(data: bytes) -> list[dict]:
    return [json.loads(line) for line in data.splitlines() if line.strip()]


def test_views_of_a_real_package(real_zip):
    members = zip_members(real_zip)
    reps = reports(members[f"{DATA}/data_report.jsonl"])
    seqs = fasta(members[f"{DATA}/genomic.fna"])
    con = vpkg.open_package(real_zip).to_duckdb()
    assert con.sql("SELECT count(*) FROM genomes").fetchall() == [(len(reps),)]
    assert con.sql("SELECT count(*) FROM genome_sequences").fetchall() == [(len(seqs),)]
    joined = con.sql(
        "SELECT g.accession, g.length, s.length, s.sequence FROM genomes g "
        "JOIN genome_sequences s USING (accession) ORDER BY g.accession"
    ).fetchall()
    assert len(joined) == len(reps)
    lengths = {r["accession"]: r["length"] for r in reps}
    for accession, report_length, seq_length, sequence in joined:
        assert sequence == seqs[accession]
        assert seq_length == len(seqs[accession]) == report_length == lengths[accession]


def test_view_is_queryable_many_times_and_self_joins():
    con = vpkg.open_package(ALL).to_duckdb()
    first = con.sql("SELECT accession FROM genomes ORDER BY 1").fetchall()
    assert con.sql("SELECT accession FROM genomes ORDER BY 1").fetchall() == first
    assert con.sql("SELECT count(*) FROM genomes a JOIN genomes b USING (accession)"
                   ).fetchall() == [(5,)]


def test_joins_on_accession_in_the_constructed_package():
    members = zip_members(ALL)
    con = vpkg.open_package(ALL).to_duckdb()
    # genomes.biosample -> biosamples.accession: compare with the BioSample JSON
    samples = {r["accession"]: r for r in reports(members[f"{DATA}/biosample_report.jsonl"])}
    rows = con.sql("SELECT g.accession, b.accession, b.geo_loc_name FROM genomes g "
                   "JOIN biosamples b ON b.accession = g.biosample").fetchall()
    assert len(rows) == 5
    for _, sample, geo in rows:
        attrs = {a["name"]: a["value"] for a in samples[sample].get("attributes", [])}
        assert geo == samples[sample].get("geoLocName", attrs.get("geo_loc_name"))
    # annotations -> cds_sequences and protein_sequences by their ids
    cds = fasta(members[f"{DATA}/cds.fna"])
    proteins = fasta(members[f"{DATA}/protein.faa"])
    rows = con.sql("SELECT a.cds_id, c.sequence, a.protein_id, p.sequence FROM annotations a "
                   "JOIN cds_sequences c ON c.id = a.cds_id "
                   "JOIN protein_sequences p ON p.id = a.protein_id").fetchall()
    assert len(rows) == 60
    for cds_id, cds_seq, protein_id, protein_seq in rows:
        assert cds[cds_id] == cds_seq and proteins[protein_id] == protein_seq
    # CDS and proteins to their genome
    assert con.sql("SELECT count(DISTINCT g.accession) FROM cds_sequences c "
                   "JOIN genomes g USING (accession)").fetchall() == [(5,)]
    assert con.sql("SELECT count(*) FROM protein_sequences p JOIN annotations a "
                   "ON a.protein_accession = p.accession JOIN genomes g ON g.accession = "
                   "a.accession WHERE p.id = a.protein_id").fetchall() == [(60,)]


def test_each_query_rereads_the_member(monkeypatch):
    opened = []
    real = vpkg.sources.Source.batches

    def counting(self, *args):
        opened.append(self.table)
        return real(self, *args)

    monkeypatch.setattr(vpkg.sources.Source, "batches", counting)
    pkg = vpkg.open_package(ALL)
    con = pkg.to_duckdb()
    assert opened == []  # nothing read up front
    con.sql("SELECT count(*) FROM genomes").fetchall()
    con.sql("SELECT count(*) FROM genomes").fetchall()
    assert opened == ["genomes", "genomes"]
    opened.clear()
    con2 = pkg.to_duckdb(materialize=True)
    assert sorted(opened) == sorted(pkg.tables())  # each read once, up front
    con2.sql("SELECT count(*) FROM genomes").fetchall()
    assert len(opened) == len(pkg.tables())


def test_materialized_tables_equal_views():
    pkg = vpkg.open_package(ALL)
    views, tables = pkg.to_duckdb(), pkg.to_duckdb(materialize=True)
    for table in pkg.tables():
        sql = f"SELECT * FROM {table} ORDER BY ALL"
        assert views.sql(sql).fetchall() == tables.sql(sql).fetchall()
    kinds = dict(tables.sql("SELECT table_name, table_type FROM information_schema.tables"
                            ).fetchall())
    assert kinds["genomes"] == "LOCAL TEMPORARY"


#: The required columns of `genomes` and `genome_sequences`, copied from ../shared/CONTRACT.md.
CONTRACT_COLUMNS = {
    "genomes": [
        "accession", "source_database", "completeness", "is_annotated", "length", "gene_count",
        "protein_count", "mature_peptide_count", "segment", "release_date", "update_date",
        "collection_date", "isolate_name", "isolate_source", "host_tax_id", "host_name",
        "host_lineage", "virus_tax_id", "virus_name", "virus_lineage",
        "pangolin_classification", "geo_location", "geo_region", "usa_state", "bioprojects",
        "sra_accessions", "biosample", "submitter_names", "submitter_affiliation",
        "submitter_country", "lab_host", "is_lab_host", "is_vaccine_strain", "sequence_hash",
        "extra",
    ],
    "genome_sequences": ["accession", "description", "sequence", "length"],
}


def test_view_columns_are_the_tables_columns():
    pkg = vpkg.open_package(ALL)
    con = pkg.to_duckdb()
    for table in pkg.tables():
        view = con.sql(f"SELECT * FROM {table}").to_arrow_table()
        assert view.schema.names == pkg.table(table).schema.names
        assert view.num_rows == pkg.table(table).num_rows
    for table, required in CONTRACT_COLUMNS.items():
        names = con.sql(f"SELECT * FROM {table}").columns
        assert [n for n in names if n in required] == required  # all there, in contract order


def test_prefix_and_name_conflicts():
    con = duckdb.connect()
    vpkg.open_package(ALL).to_duckdb(con, prefix="a_", tables=["genomes"])
    vpkg.open_package(EMPTY).to_duckdb(con, prefix="b_")
    assert con.sql("SELECT (SELECT count(*) FROM a_genomes), (SELECT count(*) FROM b_genomes)"
                   ).fetchall() == [(5, 0)]
    with pytest.raises(vpkg.ParameterError, match="already has a table or view named a_genomes"):
        vpkg.open_package(ALL).to_duckdb(con, prefix="a_")
    con.execute("CREATE TABLE genomes (x INT)")
    with pytest.raises(vpkg.ParameterError, match="prefix="):
        vpkg.open_package(ALL).to_duckdb(con)


def test_missing_table_names_the_member():
    with pytest.raises(vpkg.MemberNotFoundError, match="cds.fna"):
        vpkg.open_package(EMPTY).to_duckdb(tables=["cds_sequences"])


def test_query_errors_are_one_line_vpkg_errors():
    pkg = vpkg.open_package(ALL)
    with pytest.raises(vpkg.ParameterError) as bad:
        query(pkg.sources(), "SELEC 1")
    assert "\n" not in str(bad.value) and "Parser Error" in str(bad.value)
    with pytest.raises(vpkg.ParameterError, match="views of this package: genomes"):
        query(pkg.sources(), "SELECT * FROM genome")


def test_damaged_member_raises_the_package_error(tmp_path):
    members = zip_members(ALL)
    members.pop("md5sum.txt")
    lines = members[f"{DATA}/data_report.jsonl"].splitlines(keepends=True)
    lines[2] = b"{not json\n"
    members[f"{DATA}/data_report.jsonl"] = b"".join(lines)
    pkg = vpkg.open_package(build_zip(tmp_path / "bad.zip", members))
    with pytest.raises(vpkg.FormatError, match="data_report.jsonl line 3"):
        query(pkg.sources(), "SELECT count(*) FROM genomes")
    with pytest.raises(vpkg.FormatError, match="data_report.jsonl line 3"):
        pkg.to_duckdb(materialize=True)


def test_empty_package_has_empty_views():
    con = vpkg.open_package(EMPTY).to_duckdb()
    assert con.sql("SELECT count(*) FROM genomes JOIN genome_sequences USING (accession)"
                   ).fetchall() == [(0,)]


@pytest.mark.parametrize("module", [
    "vpkg.sinks.duckdb", "vpkg.sinks.duckdb_common", "vpkg.sinks.parquet",
    "vpkg.sinks.warehouse", "vpkg.sinks.results", "vpkg.container", "vpkg.container.integrity",
    "vpkg.tables", "vpkg.schema", "vpkg.sources", "vpkg.package", "vpkg.info", "vpkg.progress",
])
def test_docstring_examples_run(module, monkeypatch):
    monkeypatch.chdir(CONSTRUCTED.parent.parent)
    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0


def test_errors_while_fetching_are_the_package_error():
    """DuckDB streams results: a member can fail after execute, during a fetch."""
    from vpkg.sinks.duckdb import QueryResult

    class Failing:
        description = [("accession",)]

        def fetchmany(self, size):
            raise duckdb.InvalidInputException("reading the stream registered as 'genomes' ...")

    stream = vpkg.open_package(ALL).source("genomes")
    stream.error = vpkg.FormatError("data_report.jsonl line 9: not valid JSON")
    with pytest.raises(vpkg.FormatError, match="line 9"):
        QueryResult(Failing(), [stream]).fetchmany(10)
    stream.error = None
    with pytest.raises(vpkg.ParameterError, match="^the query failed: reading the stream"):
        QueryResult(Failing(), [stream]).fetchmany(10)
