"""`vpkg export --format tsv|csv|ndjson|fasta`: outputs equal the source files and records.

Expectations come from the raw members: FASTA records are cut from the package's own
`genomic.fna`/`cds.fna`/`protein.faa` bytes, filters are applied to the raw JSON in Python.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import CONSTRUCTED, REAL, build_zip, zip_members

import vpkg
from vpkg.cli import main

REPO = Path(__file__).resolve().parent.parent
DATA = "ncbi_dataset/data"
ALL = CONSTRUCTED / "sars-cov-2_all_members.constructed.zip"
HANTA = next(p for p in REAL if "Hantavirus" in p.name)
MEMBERS = {"genome_sequences": "genomic.fna", "cds_sequences": "cds.fna",
           "protein_sequences": "protein.faa"}


def fasta_records(data: bytes) -> list[tuple[str, bytes]]:
    """(first word of the header, the record's bytes) in file order, split by hand."""
    chunks = data.split(b"\n>")
    out = []
    for i, chunk in enumerate(chunks):
        block = (chunk if i == 0 else b">" + chunk)
        block = block if block.endswith(b"\n") else block + b"\n"
        out.append((block[1:].split(None, 1)[0].decode(), block))
    return out


def reports(package: Path) -> list[dict]:
    data = zip_members(package)[f"{DATA}/data_report.jsonl"].decode()
    return [json.loads(line) for line in data.splitlines() if line.strip()]


def export(*args: str) -> list[str]:
    assert main(["export", *args]) == 0
    return []


PACKAGES = [*REAL, ALL, CONSTRUCTED / "sars-cov-2_no_catalog.constructed.zip"]


@pytest.mark.parametrize("package", PACKAGES, ids=[p.stem for p in PACKAGES])
def test_fasta_is_byte_exact(package, tmp_path, capsys):
    export(str(package), "-o", str(tmp_path), "--format", "fasta")
    members = zip_members(package)
    out = capsys.readouterr().out.splitlines()
    written = 0
    for table, member in MEMBERS.items():
        source = members.get(f"{DATA}/{member}")
        suffix = ".faa" if member.endswith("faa") else ".fna"
        path = tmp_path / f"{table}{suffix}"
        if source is None:
            assert not path.exists()
            continue
        assert path.read_bytes() == source
        assert f"{path}\t{len(fasta_records(source))} rows" in out
        written += 1
    assert written == len(out) >= 1


def test_fasta_where_on_genome_columns_keeps_the_matching_records(tmp_path, capsys):
    source = zip_members(HANTA)[f"{DATA}/genomic.fna"]
    keep = {r["accession"] for r in reports(HANTA)
            if r["completeness"] == "COMPLETE" or "location" in r}
    export(str(HANTA), "-o", str(tmp_path), "--format", "fasta", "--where",
           "completeness = 'COMPLETE' OR geo_location IS NOT NULL")
    expected = b"".join(block for acc, block in fasta_records(source) if acc in keep)
    assert 0 < len(keep) < len(fasta_records(source))
    assert (tmp_path / "genome_sequences.fna").read_bytes() == expected


def test_fasta_cds_filtered_by_genome_and_own_columns(tmp_path):
    source = zip_members(ALL)[f"{DATA}/cds.fna"]
    isolates = {r["accession"]: r["isolate"]["name"] for r in reports(ALL)}
    export(str(ALL), "-o", str(tmp_path), "--format", "fasta", "--tables", "cds_sequences",
           "--where", "isolate_name LIKE '%VIC2161%' AND length < 1000")
    expected = [block for ident, block in fasta_records(source)
                if "VIC2161" in isolates[ident.split(":")[0]]
                and len(b"".join(block.split(b"\n")[1:])) < 1000]
    assert expected and len(expected) < len(fasta_records(source))
    assert (tmp_path / "cds_sequences.fna").read_bytes() == b"".join(expected)


def test_fasta_id_without_version_one_line_no_description(tmp_path):
    source = zip_members(HANTA)[f"{DATA}/genomic.fna"]
    export(str(HANTA), "-o", str(tmp_path), "--format", "fasta", "--id-column",
           "accession_unversioned", "--no-description", "--line-width", "0")
    expected = []
    for accession, block in fasta_records(source):
        letters = b"".join(block.split(b"\n")[1:])
        expected.append(b">" + accession.rsplit(".", 1)[0].encode() + b"\n" + letters + b"\n")
    assert (tmp_path / "genome_sequences.fna").read_bytes() == b"".join(expected)


def test_fasta_description_from_a_genome_column_and_width(tmp_path):
    export(str(HANTA), "-o", str(tmp_path), "--format", "fasta", "--description-column",
           "virus_name", "--line-width", "60")
    lines = (tmp_path / "genome_sequences.fna").read_bytes().decode().splitlines()
    names = {r["accession"]: r["virus"]["organismName"] for r in reports(HANTA)}
    headers = [ln for ln in lines if ln.startswith(">")]
    assert headers == [f">{acc} {names[acc]}" for acc, _ in
                       fasta_records(zip_members(HANTA)[f"{DATA}/genomic.fna"])]
    assert max(len(ln) for ln in lines if not ln.startswith(">")) == 60


def iso(value):
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, list):
        return [iso(v) for v in value]
    if isinstance(value, dict):
        return {k: iso(v) for k, v in value.items()}
    return value


def ndjson(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.mark.parametrize("table", ["genomes", "genome_sequences", "cds_sequences",
                                   "protein_sequences", "annotations", "biosamples"])
def test_ndjson_equals_the_records(table, tmp_path):
    export(str(ALL), "-o", str(tmp_path), "--format", "ndjson", "--tables", table)
    got = ndjson(tmp_path / f"{table}.ndjson")
    rows = vpkg.open_package(ALL).table(table).to_pylist()
    for row, line in zip(rows, got, strict=True):
        for key, value in row.items():
            if isinstance(value, list) and value and isinstance(value[0], tuple):
                row[key] = dict(value)  # maps arrive from Arrow as (key, value) pairs
            if isinstance(value, dt.datetime):  # ISO text, however many decimals
                assert line[key][10] == "T", line[key]
                line[key] = dt.datetime.fromisoformat(line[key])
    assert got == [iso(r) for r in rows]


def test_ndjson_genomes_keep_json_types_and_raw_values(tmp_path):
    export(str(ALL), "-o", str(tmp_path), "--format", "ndjson", "--tables", "genomes")
    for got, raw in zip(ndjson(tmp_path / "genomes.ndjson"), reports(ALL), strict=True):
        assert got["accession"] == raw["accession"] and got["length"] == raw["length"]
        assert got["release_date"] == raw["releaseDate"][:10]
        assert got["is_annotated"] is raw.get("isAnnotated", False)
        assert got["bioprojects"] == raw.get("bioprojects")
        assert got["host_lineage"] == [{"tax_id": t["taxId"], "name": t["name"]}
                                       for t in raw["host"]["lineage"]]


def test_ndjson_with_sequence_and_where(tmp_path):
    sequences = {acc: b"".join(block.split(b"\n")[1:]).decode() for acc, block in
                 fasta_records(zip_members(HANTA)[f"{DATA}/genomic.fna"])}
    export(str(HANTA), "-o", str(tmp_path), "--format", "ndjson", "--with-sequence", "seq",
           "--where", "length > 3000", "--columns", "accession,length,seq")
    keep = [r for r in reports(HANTA) if r["length"] > 3000]
    assert ndjson(tmp_path / "genomes.ndjson") == [
        {"accession": r["accession"], "length": r["length"], "seq": sequences[r["accession"]]}
        for r in keep]
    assert 0 < len(keep) < len(reports(HANTA))


def test_several_packages_make_one_file_per_table(tmp_path, capsys):
    export(str(REAL[0]), str(HANTA), "-o", str(tmp_path), "--format", "ndjson",
           "--tables", "genomes", "--columns", "package_file,accession")
    expected = [{"package_file": p.name, "accession": r["accession"]}
                for p in (REAL[0], HANTA) for r in reports(p)]
    assert ndjson(tmp_path / "genomes.ndjson") == expected
    assert capsys.readouterr().out == f"{tmp_path / 'genomes.ndjson'}\t{len(expected)} rows\n"


@pytest.mark.parametrize("fmt,delimiter", [("tsv", "\t"), ("csv", ",")])
def test_tsv_and_csv_round_trip_through_a_parser(fmt, delimiter, tmp_path):
    record = reports(HANTA)[0]
    record["submitter"]["affiliation"] = 'Dept\tof "Virology",\nLab'
    record["isolate"] = {"collectionDate": "2001-02", "name": "tab\tonly", "source": ""}
    record["labHost"] = "comma, only"
    package = build_zip(tmp_path / "odd.zip", {"data_report.jsonl": json.dumps(record) + "\n"})
    export(str(package), "-o", str(tmp_path / "out"), "--format", fmt)
    with open(tmp_path / "out" / f"genomes.{fmt}", newline="") as fh:
        rows = list(csv.reader(fh, delimiter=delimiter))
    header, values = rows[0], dict(zip(rows[0], rows[1], strict=True))
    assert header == vpkg.open_package(package).table("genomes").schema.names
    assert values["submitter_affiliation"] == 'Dept\tof "Virology",\nLab'
    assert values["length"] == str(record["length"])
    assert json.loads(values["submitter_names"]) == record["submitter"]["names"]
    assert values["collection_date"] == record["isolate"]["collectionDate"]
    assert values["segment"] == ""  # NULL: an empty field
    assert values["isolate_name"] == "tab\tonly" and values["lab_host"] == "comma, only"
    text = (tmp_path / "out" / f"genomes.{fmt}").read_text()
    assert f'{delimiter}""{delimiter}' in text  # the empty isolate source, not a NULL
    assert values["isolate_source"] == ""


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vpkg", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=120)


@pytest.mark.parametrize("args,message", [
    (["--format", "fasta", "--tables", "genomes"],
     "--format fasta: genomes has no sequences"),
    (["--format", "ndjson", "--where", "nope > 1"],
     'Binder Error: Referenced column "nope" not found'),
    (["--format", "csv", "--where", "length >"], "Parser Error: syntax error"),
    (["--format", "tsv", "--columns", "accession,nope"],
     "--columns: 'nope' is not a column of genomes; its columns are accession,"),
    (["--format", "ndjson", "--tables", "cds_sequences"],
     "no package given has its member cds.fna"),
    (["--format", "ndjson", "--tables", "genome_sequences", "--with-sequence", "s"],
     "--with-sequence adds the genome sequence to genomes records"),
])
def test_bad_input_is_one_line_and_writes_nothing(args, message, tmp_path):
    out = tmp_path / "out"
    child = run_cli("export", str(HANTA), "-o", str(out), *args)
    assert child.returncode == 1 and child.stdout == ""
    assert child.stderr.count("\n") == 1 and "Traceback" not in child.stderr
    assert message in child.stderr
    assert not out.exists()


def test_a_read_error_midway_leaves_nothing(tmp_path):
    good = zip_members(HANTA)
    members = {name: data for name, data in good.items()}
    members[f"{DATA}/genomic.fna"] = good[f"{DATA}/genomic.fna"] + b">\nACGT\n"  # no id
    package = build_zip(tmp_path / "bad.zip", members)
    out = tmp_path / "out"
    out.mkdir()
    (out / "genome_sequences.fna").write_bytes(b"earlier\n")
    for fmt in ("fasta", "ndjson", "tsv"):
        child = run_cli("export", str(package), "-o", str(out), "--format", fmt,
                        "--tables", "genome_sequences", "--no-verify")
        assert child.returncode == 1, child.stderr
        assert child.stderr.count("\n") == 1 and "no identifier" in child.stderr
        assert sorted(p.name for p in out.iterdir()) == ["genome_sequences.fna"]
        assert (out / "genome_sequences.fna").read_bytes() == b"earlier\n"


def test_parquet_of_several_packages_keeps_types(tmp_path):
    """Without a selection: one dataset folder per table, a file per package; with one: one
    file per table, a package_file column first."""
    import pyarrow.parquet as pq

    export(str(REAL[0]), str(HANTA), "-o", str(tmp_path / "all"), "--tables",
           "genome_sequences")
    for path in (REAL[0], HANTA):
        file = tmp_path / "all" / "genome_sequences" / f"{path.stem}.parquet"
        assert pq.read_table(file).equals(vpkg.open_package(path).table("genome_sequences"))
        assert pq.read_metadata(file).metadata[b"vpkg.package_file"] == path.name.encode()
    export(str(REAL[0]), str(HANTA), "-o", str(tmp_path), "--tables", "genome_sequences",
           "--where", "length > 0")
    table = pq.read_table(tmp_path / "genome_sequences.parquet")
    single = vpkg.open_package(HANTA).table("genome_sequences")
    first = vpkg.open_package(REAL[0]).table("genome_sequences")
    assert table.schema.field("sequence").type == single.schema.field("sequence").type
    assert table.column("package_file").to_pylist() == (
        [REAL[0].name] * first.num_rows + [HANTA.name] * single.num_rows)
    sources = json.loads(table.schema.metadata[b"vpkg.packages"])
    assert [(x["file"], x["api_version"]) for x in sources] == [(REAL[0].name, "V2"),
                                                                (HANTA.name, "V2")]
    assert table.schema.metadata[b"vpkg.table"] == b"genome_sequences"
    assert table.slice(table.num_rows - single.num_rows).drop_columns(
        ["package_file"]).equals(single)


def test_several_packages_join_each_sequence_to_its_own_genome(tmp_path):
    first, second = tmp_path / "a.zip", tmp_path / "b.zip"
    shutil.copy(HANTA, first)
    shutil.copy(HANTA, second)  # the same accessions in two packages
    export(str(first), str(second), "-o", str(tmp_path / "out"), "--format", "fasta",
           "--where", "completeness = 'COMPLETE'")
    one = b"".join(block for acc, block in fasta_records(zip_members(HANTA)[
        f"{DATA}/genomic.fna"]) if acc in {r["accession"] for r in reports(HANTA)
                                          if r["completeness"] == "COMPLETE"})
    assert (tmp_path / "out/genome_sequences.fna").read_bytes() == one + one
    export(str(first), str(first), "-o", str(tmp_path / "same"), "--format", "fasta",
           "--where", "completeness = 'COMPLETE'")  # one file given twice: one name
    assert (tmp_path / "same/genome_sequences.fna").read_bytes() == one + one


def test_a_filtered_join_keeps_the_fasta_order(tmp_path):
    members = zip_members(HANTA)
    records = fasta_records(members[f"{DATA}/genomic.fna"])
    members[f"{DATA}/genomic.fna"] = b"".join(block for _, block in reversed(records))
    package = build_zip(tmp_path / "reversed.zip", members)  # FASTA order != report order
    export(str(package), "-o", str(tmp_path / "out"), "--format", "fasta", "--where",
           "completeness = 'COMPLETE' OR length > 3000", "--no-verify")
    keep = {r["accession"] for r in reports(HANTA)
            if r["completeness"] == "COMPLETE" or r["length"] > 3000}
    assert (tmp_path / "out/genome_sequences.fna").read_bytes() == b"".join(
        block for acc, block in reversed(records) if acc in keep)


def test_where_on_a_table_without_genome_columns_names_the_tables_that_have_them(tmp_path,
                                                                                 capsys):
    out = tmp_path / "out"
    assert main(["export", str(ALL), "-o", str(out), "--format", "ndjson", "--where",
                 "completeness = 'COMPLETE'"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and not out.exists()
    assert 'Referenced column "completeness" not found' in err
    assert "--where on biosamples" in err and "biosamples cannot use genomes columns" in err


def test_proteins_filtered_by_genome_columns_through_the_annotations(tmp_path):
    members = zip_members(ALL)
    notes = [json.loads(x) for x in members[f"{DATA}/annotation_report.jsonl"].splitlines()]
    isolates = {r["accession"]: r["isolate"]["name"] for r in reports(ALL)}
    wanted = {cds["accession"] for n in notes if "VIC2161" in isolates[n["accession"]]
              for gene in n["genes"] for cds in gene.get("cds", []) if "accession" in cds}
    export(str(ALL), "-o", str(tmp_path), "--format", "fasta", "--tables",
           "protein_sequences", "--where", "isolate_name LIKE '%VIC2161%'")
    records = fasta_records(members[f"{DATA}/protein.faa"])
    expected = [block for ident, block in records if ident.split(":")[0] in wanted]
    assert 0 < len(expected) < len(records)
    assert (tmp_path / "protein_sequences.faa").read_bytes() == b"".join(expected)


@pytest.mark.parametrize("typ", ["string", "large_string"])
def test_write_lines_writes_each_line_once_in_order(typ):
    """Lines straight from Arrow buffers: sliced batches, both offset widths, a header."""
    import io

    import pyarrow as pa

    from vpkg.sinks.lines import write_lines

    texts = ['{"a":1}', "", "é\tb", '{"z":[1,2]}', "last"]
    column = pa.array(texts, getattr(pa, typ)())
    table = pa.table({"line": column})
    batch = table.to_batches()[0]
    batches = [batch.slice(1, 2), batch.slice(0, 0), batch.slice(3)]
    out = io.BytesIO()
    reader = pa.RecordBatchReader.from_batches(table.schema, batches)
    assert write_lines(reader, out, header="line") == 4
    assert out.getvalue() == "line\n\né\tb\n{\"z\":[1,2]}\nlast\n".encode()
