"""The ``vpkg`` Spark data source, in ``local[2]``: every table of the fixtures read through Spark
equals ``pkg.table()`` value by value; types, partitions and error messages.

One SparkSession serves the whole module (a JVM start costs seconds). Without Java the tests
skip, except under CI (``CI`` set), where `.ci/run` installs a JRE and a skip would hide a gap.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from pathlib import Path

import pytest
from conftest import CONSTRUCTED, REAL, build_dir, zip_members

import vpkg

pytest.importorskip("pyspark")
if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
    if os.environ.get("CI"):
        pytest.fail("no Java: .ci/setup-java should have installed a JRE", pytrace=False)
    pytest.skip("Spark needs Java (apt-get install openjdk-17-jre-headless)",
                allow_module_level=True)

ALL = CONSTRUCTED / "sars-cov-2_all_members.constructed.zip"
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def spark():
    os.environ["PYSPARK_PYTHON"] = sys.executable  # executors run this interpreter (vpkg)
    from pyspark.sql import SparkSession

    from vpkg.spark import VpkgDataSource

    session = (
        SparkSession.builder.master("local[2]")
        .appName("vpkg-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    session.dataSource.register(VpkgDataSource)
    yield session
    session.stop()


def read(spark, table: str, paths, **options):
    reader = spark.read.format("vpkg").option("table", table)
    for key, value in options.items():
        reader = reader.option(key, value)
    return reader.load(paths)


@pytest.mark.parametrize("table", ["genomes", "genome_sequences"])
def test_every_real_package_of_a_folder(spark, table):
    df = read(spark, table, str(REAL[0].parent), packageColumn="package")
    assert df.rdd.getNumPartitions() == len(REAL)  # one partition per package
    got = df.toArrow().to_pylist()
    expected = []
    for path in REAL:
        with vpkg.open_package(path) as pkg:
            expected += [{**row, "package": str(path)} for row in pkg.table(table).to_pylist()]
    assert len(got) == len(expected) > 0
    assert got == expected


def test_several_packages_per_partition(spark):
    df = read(spark, "genomes", str(REAL[0].parent), packageColumn="package",
              packagesPerPartition="3")
    assert df.rdd.getNumPartitions() == -(-len(REAL) // 3)
    got = [(r["package"], r["accession"]) for r in df.toArrow().to_pylist()]
    expected = []
    for path in REAL:
        with vpkg.open_package(path) as pkg:
            expected += [(str(path), a) for a in pkg.table("genomes").column("accession")
                         .to_pylist()]
    assert got == expected


def test_every_contract_table(spark):
    """All six tables of the package holding every member, through a list and a glob."""
    with vpkg.open_package(ALL) as pkg, vpkg.open_package(REAL[0]) as first:
        assert len(pkg.tables()) == 6
        for table in pkg.tables():
            expected = pkg.table(table).to_pylist()
            paths = f"{CONSTRUCTED}/sars-cov-2_all*.zip"
            if table in first.tables():
                expected = first.table(table).to_pylist() + expected
                paths = f"{REAL[0]},{paths}"
            got = read(spark, table, paths).toArrow().to_pylist()
            assert got == expected, table


def test_values_from_the_real_files(spark):
    """Literals from the SARS-CoV-2 package's own files, not from vpkg."""
    sars = [p for p in REAL if p.name.startswith("sars-cov-2")][0]
    row = read(spark, "genome_sequences", str(sars), verify="true").collect()[0]
    assert row.accession == "NC_045512.2" and row.length == 29903 == len(row.sequence)
    assert row.sequence.startswith("ATTAAAGGTTTATACCTTCCCAGGTAACAAAC")
    genome = read(spark, "genomes", str(sars)).collect()[0]
    assert genome.release_date.isoformat() == "2020-01-13"
    assert genome.virus_lineage[-1].name == "Severe acute respiratory syndrome coronavirus 2"


def test_spark_types_are_faithful(spark):
    from pyspark.sql.types import (
        ArrayType,
        DateType,
        LongType,
        MapType,
        StringType,
        StructType,
        TimestampNTZType,
    )

    genomes = read(spark, "genomes", str(ALL)).schema
    assert isinstance(genomes["release_date"].dataType, DateType)
    lineage = genomes["virus_lineage"].dataType
    assert isinstance(lineage, ArrayType) and isinstance(lineage.elementType, StructType)
    assert [(f.name, type(f.dataType)) for f in lineage.elementType.fields] == [
        ("tax_id", LongType), ("name", StringType)]
    assert genomes["accession"].nullable is False
    cds = read(spark, "cds_sequences", str(ALL)).schema
    assert isinstance(cds["header_fields"].dataType, MapType)
    assert isinstance(cds["sequence"].dataType, StringType)
    samples = read(spark, "biosamples", str(ALL))
    assert isinstance(samples.schema["last_updated"].dataType, TimestampNTZType)


def test_a_damaged_package_fails_with_the_vpkg_message(spark, tmp_path):
    bad = tmp_path / "truncated.zip"
    bad.write_bytes(REAL[0].read_bytes()[:1000])
    with pytest.raises(Exception) as info:
        read(spark, "genomes", f"{REAL[0]},{bad}").collect()
    assert re.search(rf"PackageError: {re.escape(str(bad))}: not a zip file: it starts like a "
                     r"zip but is truncated or damaged; download it again", str(info.value))


def test_bad_options_and_paths(spark, tmp_path):
    with pytest.raises(Exception, match=r"needs .option\('table', ...\)"):
        spark.read.format("vpkg").load(str(ALL)).collect()
    with pytest.raises(Exception, match=r"option table='genome' is not a vpkg table"):
        read(spark, "genome", str(ALL)).collect()
    with pytest.raises(Exception, match=rf"{re.escape(str(tmp_path))}: no package there"):
        read(spark, "genomes", str(tmp_path)).collect()
    with pytest.raises(Exception, match=r"option packagesPerPartition='x': give a positive"):
        read(spark, "genomes", str(ALL), packagesPerPartition="x").collect()
    with pytest.raises(Exception, match=r"option batchSize='0': give a positive number"):
        read(spark, "genomes", str(ALL), batchSize="0").collect()
    with pytest.raises(Exception, match="table 'cds_sequences' needs cds.fna"):
        read(spark, "cds_sequences", str(REAL[0])).collect()


def test_the_docs_example_runs(spark, monkeypatch):
    page = (REPO / "docs" / "spark.md").read_text(encoding="utf-8")
    code = re.search(r"```python\n(.*?)```", page, re.S).group(1)
    monkeypatch.chdir(REPO)  # the example's paths are relative to the repository
    namespace: dict = {}
    exec(compile(code, "docs/spark.md", "exec"), namespace)
    written = spark.read.parquet(f"{namespace['out']}/genomes")
    assert written.count() == namespace["genomes"].count() == sum(
        vpkg.open_package(p).table("genomes").num_rows for p in REAL)
    shutil.rmtree(namespace["out"])


def test_module_examples_run(monkeypatch):
    import doctest

    import vpkg.spark

    monkeypatch.chdir(REPO)
    result = doctest.testmod(vpkg.spark)
    assert result.attempted >= 3 and result.failed == 0


def test_paths_expand_to_packages(tmp_path):
    from vpkg.errors import ParameterError
    from vpkg.spark import expand_paths

    shutil.copy(REAL[0], tmp_path / "b.zip")
    build_dir(tmp_path / "a_extracted", zip_members(REAL[1]))
    (tmp_path / "notes.txt").write_text("not a package")
    (tmp_path / "empty").mkdir()
    folder = str(tmp_path)
    assert expand_paths(folder) == [f"{folder}/a_extracted", f"{folder}/b.zip"]
    assert expand_paths(f"{folder}/a_extracted") == [f"{folder}/a_extracted"]
    assert expand_paths(f"{folder}/*.zip, {folder}/b.zip,{REAL[2]}") == [
        f"{folder}/b.zip", str(REAL[2])]  # a package named twice is read once
    with pytest.raises(ParameterError, match=rf"^{re.escape(folder)}/empty: no package there"):
        expand_paths(f"{folder}/b.zip,{folder}/empty")
    with pytest.raises(ParameterError, match="no package there"):
        expand_paths(f"{folder}/*.tar")
