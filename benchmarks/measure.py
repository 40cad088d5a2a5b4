"""One benchmark measurement, run in a fresh process by `benchmarks/run.py`.

    python benchmarks/measure.py NAME PACKAGE_DIR PACKAGE_ZIP

Reads what NAME says to the end and prints one JSON line: the rows (or bytes) seen, so the
runner can check that every tool read the same data. Nothing here times itself: the runner
measures the whole process (interpreter start, imports, reading, exit).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # generate.py, for the shapes

DATA = "ncbi_dataset/data"
FASTA = f"{DATA}/genomic.fna"
REPORT = f"{DATA}/data_report.jsonl"


def vpkg_reader(table: str, where: str) -> dict:
    import vpkg

    rows = 0
    with vpkg.open_package(where) as pkg:
        for batch in pkg.reader(table):
            rows += batch.num_rows
    return {"rows": rows}


def vpkg_report_page(where: str, verify: bool) -> dict:
    """`vpkg report` of the package to a temporary HTML file."""
    import tempfile

    import vpkg

    with tempfile.TemporaryDirectory() as tmp, vpkg.open_package(where) as pkg:
        summary = pkg.report(f"{tmp}/report.html", verify=verify)
    return {"rows": summary.header["genomes"], "bytes": summary.bytes}


def zipfile_inflate(zip_path: str, member: str) -> dict:
    import zipfile

    size = 0
    with zipfile.ZipFile(zip_path) as zf, zf.open(member) as fh:
        while chunk := fh.read(1 << 20):
            size += len(chunk)
    return {"bytes": size}


def biobear_fasta(directory: str) -> dict:
    import biobear

    table = biobear.connect().read_fasta_file(f"{directory}/{FASTA}").to_arrow()
    return {"rows": table.num_rows}


def biopython_fasta(directory: str) -> dict:
    """SeqIO.parse into Arrow batches of 10,000 records (id, description, sequence)."""
    import pyarrow as pa
    from Bio import SeqIO

    rows = 0
    ids, titles, seqs = [], [], []

    def flush() -> int:
        batch = pa.record_batch([pa.array(ids), pa.array(titles),
                                 pa.array(seqs, pa.large_string())],
                                names=["id", "description", "sequence"])
        ids.clear(), titles.clear(), seqs.clear()
        return batch.num_rows

    for record in SeqIO.parse(f"{directory}/{FASTA}", "fasta"):
        ids.append(record.id)
        titles.append(record.description)
        seqs.append(str(record.seq))
        if len(ids) == 10_000:
            rows += flush()
    return {"rows": rows + flush()}


def duckdb_json(directory: str, streaming: bool) -> dict:
    import duckdb

    relation = duckdb.sql(f"SELECT * FROM read_json_auto('{directory}/{REPORT}')")
    if streaming:
        rows = sum(batch.num_rows for batch in relation.to_arrow_reader())
    else:
        rows = relation.to_arrow_table().num_rows
    return {"rows": rows}


def pyarrow_json(directory: str) -> dict:
    import pyarrow.json

    return {"rows": pyarrow.json.read_json(f"{directory}/{REPORT}").num_rows}


def vpkg_tsv(zip_path: str) -> dict:
    """`vpkg tsv PACKAGE` (all 50 dataformat fields) into a file; the bytes written."""
    import tempfile

    import vpkg
    from vpkg.package import views_of
    from vpkg.sinks.dataformat import write_tsv

    with vpkg.open_package(zip_path) as pkg, tempfile.TemporaryFile() as out:
        rows = write_tsv(views_of([pkg]), out)
        read = pkg.member_size(pkg.member_for("genomes"))
        return {"rows": rows, "bytes": out.tell(), "input_bytes": read}


def vpkg_export_format(zip_path: str, fmt: str, table: str) -> dict:
    """`vpkg export PACKAGE --format FMT --tables TABLE` (no verify pass); the bytes written."""
    import tempfile

    import vpkg
    from vpkg.package import export

    with vpkg.open_package(zip_path) as pkg, tempfile.TemporaryDirectory() as out:
        (done,) = export([pkg], out, fmt, tables=[table], verify=False)
        read = pkg.member_size(pkg.member_for(table))
        return {"rows": done.rows, "bytes": done.path.stat().st_size, "input_bytes": read}


def duckdb_copy(source: str, fmt: str) -> dict:
    """DuckDB ``COPY (SELECT ...) TO`` of the same rows; the bytes written.

    ``source`` is ``report:<dir>`` (DuckDB reads the extracted data report itself) or
    ``sequences:<zip>`` (the rows of vpkg's genome_sequences view, so that only the writing
    differs from the vpkg FASTA export).
    """
    import os
    import tempfile

    import duckdb

    kind, where = source.split(":", 1)
    options = {"tsv": "FORMAT csv, DELIMITER '\t', HEADER true", "ndjson": "FORMAT json",
               "csv": "FORMAT csv, HEADER true"}[fmt]
    with tempfile.TemporaryDirectory() as out:
        target = os.path.join(out, f"out.{fmt}")
        if kind == "report":
            con = duckdb.connect()
            select = f"SELECT * FROM read_json_auto('{where}/{REPORT}')"
            read = os.path.getsize(f"{where}/{REPORT}")
        else:
            import vpkg
            from vpkg.package import views_of

            pkg = vpkg.open_package(where)
            con = views_of([pkg]).con
            select = "SELECT accession, description, sequence FROM genome_sequences"
            read = pkg.member_size(pkg.member_for("genome_sequences"))
        rows = con.execute(f"COPY ({select}) TO '{target}' ({options})").fetchall()[0][0]
        return {"rows": rows, "bytes": os.path.getsize(target), "input_bytes": read}
def zipfile_inflate_all(zip_path: str) -> dict:
    """Decompress both data members, one after the other (what an export must at least do)."""
    size = 0
    for member in (REPORT, FASTA):
        size += zipfile_inflate(zip_path, member)["bytes"]
    return {"bytes": size}


def vpkg_export(zip_path: str) -> dict:
    """``vpkg export`` of the zip (checks, then every table to Parquet), into a temp folder."""
    import shutil
    import tempfile

    import vpkg

    out = tempfile.mkdtemp(prefix="bench-export-")
    try:
        with vpkg.open_package(zip_path) as pkg:
            done = pkg.to_parquet(out, progress=False)
        return {"rows": sum(d.rows for d in done)}
    finally:
        shutil.rmtree(out, ignore_errors=True)


def diy_export(zip_path: str) -> dict:
    """What one would do by hand: unzip, DuckDB COPY of the report, biobear's FASTA table
    written by pyarrow.parquet (each tool's default compression)."""
    import shutil
    import tempfile
    import zipfile

    import biobear
    import duckdb
    import pyarrow.parquet as pq

    work = tempfile.mkdtemp(prefix="bench-diy-")
    try:
        with zipfile.ZipFile(zip_path) as zf:
            zf.extractall(work)
        duckdb.sql(f"COPY (SELECT * FROM read_json_auto('{work}/{REPORT}')) "
                   f"TO '{work}/genomes.parquet' (FORMAT parquet)")
        genomes = duckdb.sql(f"SELECT count(*) FROM '{work}/genomes.parquet'").fetchall()[0][0]
        table = biobear.connect().read_fasta_file(f"{work}/{FASTA}").to_arrow()
        pq.write_table(table, f"{work}/genome_sequences.parquet")
        return {"rows": genomes + table.num_rows}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def shape_path(directory: str, shape: str) -> str:
    """The worst-case member ``shape`` written by ``generate.py --shapes-mb``."""
    from generate import SHAPES

    folder = Path(directory).with_name(Path(directory).name + "-shapes")
    return str(folder / shape / SHAPES[shape][0])


def vpkg_shape(directory: str, shape: str) -> dict:
    """vpkg reading one worst-case member; a member vpkg refuses ends at its error."""
    import os

    from generate import SHAPES

    from vpkg.errors import VpkgError

    path = shape_path(directory, shape)
    table = "genomes" if SHAPES[shape][0] == "data_report.jsonl" else "genome_sequences"
    try:
        result = vpkg_reader(table, path)
    except VpkgError as exc:
        result = {"rows": 0, "error": str(exc).split(": ")[-1][:80]}
    return {**result, "bytes": os.path.getsize(path)}


def _shapes() -> dict:
    from generate import SHAPES

    return {f"shape/{name}": (f"vpkg reading {what} (bare member)",
                              lambda d, z, name=name: vpkg_shape(d, name))
            for name, (_, what) in SHAPES.items()}


#: name -> (what it does, the function of (package directory, package zip))
MEASUREMENTS: dict[str, tuple[str, Callable[[str, str], dict]]] = {
    "fasta/vpkg-zip": ("vpkg genome_sequences from the zip (streaming)",
                       lambda d, z: vpkg_reader("genome_sequences", z)),
    "fasta/vpkg-dir": ("vpkg genome_sequences from the extracted directory (streaming)",
                       lambda d, z: vpkg_reader("genome_sequences", d)),
    "fasta/biobear": ("biobear read_fasta_file(...).to_arrow()",
                      lambda d, z: biobear_fasta(d)),
    "fasta/biopython": ("Biopython SeqIO.parse into Arrow batches",
                        lambda d, z: biopython_fasta(d)),
    "fasta/zipfile-inflate": ("zipfile: decompress genomic.fna only, 1 MiB reads",
                              lambda d, z: zipfile_inflate(z, FASTA)),
    "report/vpkg-zip": ("vpkg genomes from the zip (streaming)",
                        lambda d, z: vpkg_reader("genomes", z)),
    "report/vpkg-dir": ("vpkg genomes from the extracted directory (streaming)",
                        lambda d, z: vpkg_reader("genomes", d)),
    "report/duckdb": ("DuckDB read_json_auto -> Arrow record batch reader (streaming)",
                      lambda d, z: duckdb_json(d, streaming=True)),
    "report/duckdb-table": ("DuckDB read_json_auto -> Arrow table",
                            lambda d, z: duckdb_json(d, streaming=False)),
    "report/pyarrow-json": ("pyarrow.json.read_json on the extracted file",
                            lambda d, z: pyarrow_json(d)),
    "page/report-zip": ("vpkg report: the HTML page of the zip, verified (CRCs and md5)",
                      lambda d, z: vpkg_report_page(z, verify=True)),
    "page/report-zip-no-verify": ("vpkg report --no-verify: the HTML page of the zip",
                                lambda d, z: vpkg_report_page(z, verify=False)),
    "report/zipfile-inflate": ("zipfile: decompress data_report.jsonl only, 1 MiB reads",
                               lambda d, z: zipfile_inflate(z, REPORT)),
    "out/vpkg-tsv": ("vpkg tsv (50 dataformat fields) from the zip to a file",
                     lambda d, z: vpkg_tsv(z)),
    "out/duckdb-copy-tsv": ("DuckDB COPY (read_json_auto(report)) TO tsv",
                            lambda d, z: duckdb_copy(f"report:{d}", "tsv")),
    "out/vpkg-ndjson": ("vpkg export --format ndjson --tables genomes, from the zip",
                        lambda d, z: vpkg_export_format(z, "ndjson", "genomes")),
    "out/duckdb-copy-ndjson": ("DuckDB COPY (read_json_auto(report)) TO ndjson",
                               lambda d, z: duckdb_copy(f"report:{d}", "ndjson")),
    "out/vpkg-fasta": ("vpkg export --format fasta (genome_sequences), from the zip",
                       lambda d, z: vpkg_export_format(z, "fasta", "genome_sequences")),
    "out/duckdb-copy-sequences": ("DuckDB COPY (vpkg genome_sequences view) TO csv, from the zip",
                                  lambda d, z: duckdb_copy(f"sequences:{z}", "csv")),
    "export/vpkg": ("vpkg export of the zip: checks, then every table to Parquet (zstd)",
                    lambda d, z: vpkg_export(z)),
    "export/diy": ("unzip + DuckDB COPY to Parquet + biobear -> pyarrow.parquet",
                   lambda d, z: diy_export(z)),
    "export/zipfile-inflate": ("zipfile: decompress both data members, 1 MiB reads",
                               lambda d, z: zipfile_inflate_all(z)),
    **_shapes(),
}


def main(argv: list[str]) -> None:
    name, directory, zip_path = argv
    print(json.dumps(MEASUREMENTS[name][1](directory, zip_path)))


if __name__ == "__main__":
    main(sys.argv[1:])
