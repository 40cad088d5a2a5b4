"""Packages as a PySpark 4 data source named ``vpkg``: one partition per package (by default).

Register the source once per session, then read any table of the contract from a package, a
folder of packages, a glob or a comma-separated list of these::

    from vpkg.spark import VpkgDataSource
    spark.dataSource.register(VpkgDataSource)
    genomes = spark.read.format("vpkg").option("table", "genomes").load("packages/")

Each package is one input partition: the executor that reads it opens it with
`vpkg.open_package` and streams the table with vpkg's own readers, handing Arrow record
batches to Spark. Paths are expanded on the driver and opened on the executors, so every
node must see them at the same path (a shared or mounted file system, see docs/spark.md).

The Spark schema is the table's Arrow schema (`vpkg.schema`) through PySpark's own
conversion: ``large_string`` becomes ``string`` (Spark strings have no 2 GiB limit per
batch column that matters here: batches are cast safely, and a cast that would not fit
raises rather than truncates), ``date32`` becomes ``date``, ``timestamp[ms]`` becomes
``timestamp_ntz`` (microseconds, so no value changes), lists of structs and maps keep their
shape and field names, and not-null columns stay not null.

Options
-------
table
    The table to read (required): genomes, genome_sequences, cds_sequences,
    protein_sequences, annotations or biosamples.
batchSize
    Rows per Arrow batch (default 65536; sequence batches are also capped by size).
verify
    ``true`` checks every CRC and md5 of a package before reading it (default ``false``).
packageColumn
    When given, a last string column of that name holds the path of each row's package.
packagesPerPartition
    Packages read by one task, in order (default 1). Many small packages read faster a few
    dozen to a task: a task has a fixed cost that a tiny package does not repay.

Examples
--------
>>> from vpkg.spark import spark_schema
>>> spark_schema("genome_sequences").simpleString()
'struct<accession:string,description:string,sequence:string,length:bigint>'
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
from pyspark.sql.datasource import DataSource, DataSourceReader, InputPartition
from pyspark.sql.pandas.types import from_arrow_schema, to_arrow_schema
from pyspark.sql.types import StringType, StructField, StructType

from vpkg.errors import ParameterError
from vpkg.schema import schema
from vpkg.tables import TABLES

#: Rows per batch unless the ``batchSize`` option says otherwise.
BATCH_SIZE = 65536


def spark_schema(table: str, package_column: str | None = None) -> StructType:
    """The Spark schema of a vpkg table (with the optional package-path column last).

    >>> spark_schema("genomes")["release_date"].dataType.simpleString()
    'date'
    """
    if table not in TABLES:
        raise ParameterError(
            f"option table={table!r} is not a vpkg table; use one of: {', '.join(TABLES)}",
            parameter="table",
        )
    struct = from_arrow_schema(schema(table), prefer_timestamp_ntz=True)
    if package_column:
        if package_column in struct.fieldNames():
            raise ParameterError(
                f"option packageColumn={package_column!r} is already a column of {table}; "
                "choose another name",
                parameter="packageColumn",
            )
        struct = struct.add(StructField(package_column, StringType(), nullable=False))
    return struct


def expand_paths(paths: str) -> list[str]:
    """The packages named by ``paths``: comma-separated packages, folders and globs.

    A folder that is an extracted package stands for itself; any other folder stands for the
    ``.zip`` files and extracted packages directly inside it, in name order. Raises
    `ParameterError` when an item matches no package.

    >>> expand_paths("fixtures/real/Rotavirus_J.zip,fixtures/real/Hantavirus_Z*.zip")
    ['fixtures/real/Rotavirus_J.zip', 'fixtures/real/Hantavirus_Z10.zip']
    """
    found: list[str] = []
    for item in (p.strip() for p in paths.split(",")):
        if not item:
            continue
        matches = sorted(glob.glob(item)) if glob.has_magic(item) else [item]
        packages = [pkg for match in matches for pkg in _packages_at(match)]
        if not packages:
            raise ParameterError(
                f"{item}: no package there (no such file, or a folder without .zip files "
                "or extracted packages); give package paths, folders of packages or globs",
                parameter="path",
            )
        found.extend(p for p in packages if p not in found)
    if not found:
        raise ParameterError("no path given: load(PATHS) with packages, folders or globs",
                             parameter="path")
    return found


def _packages_at(path: str) -> list[str]:
    p = Path(path)
    if not p.is_dir():
        return [path] if p.exists() else []
    if _is_package_dir(p):
        return [path]
    return [
        os.path.join(path, child.name)
        for child in sorted(p.iterdir(), key=lambda c: c.name)
        if (child.is_file() and child.suffix.lower() == ".zip")
        or (child.is_dir() and _is_package_dir(child))
    ]


def _is_package_dir(p: Path) -> bool:
    """Whether a folder is an extracted package (holds ncbi_dataset/data, or is one of them)."""
    from vpkg.tables import DATA_DIR

    return (p / DATA_DIR).is_dir() or (p.name == "ncbi_dataset" and (p / "data").is_dir()) or (
        p.name == "data" and p.parent.name == "ncbi_dataset"
    )


class PackagePartition(InputPartition):
    """One input partition: the paths of its packages (one, unless packagesPerPartition)."""

    def __init__(self, paths: list[str]):
        super().__init__(paths)
        self.paths = paths


class VpkgDataSource(DataSource):
    """The ``vpkg`` data source: ``spark.read.format("vpkg").option("table", T).load(PATHS)``."""

    @classmethod
    def name(cls) -> str:
        return "vpkg"

    def _table(self) -> str:
        table = self.options.get("table")
        if not table:
            raise ParameterError(
                f"the vpkg data source needs .option('table', ...): one of {', '.join(TABLES)}",
                parameter="table",
            )
        return table

    def schema(self) -> StructType:
        return spark_schema(self._table(), self.options.get("packageColumn"))

    def reader(self, schema: StructType) -> VpkgReader:
        return VpkgReader(self._table(), self.options, schema)


class VpkgReader(DataSourceReader):
    """Plans one partition per package (on the driver) and reads one (on an executor)."""

    def __init__(self, table: str, options: dict, schema: StructType):
        self.table = table
        self.paths = options.get("path") or options.get("paths") or ""
        size = str(options.get("batchSize", BATCH_SIZE))
        if not size.isdigit() or int(size) < 1:
            raise ParameterError(f"option batchSize={size!r}: give a positive number of rows",
                                 parameter="batchSize")
        self.batch_size = int(size)
        per = str(options.get("packagesPerPartition", 1))
        if not per.isdigit() or int(per) < 1:
            raise ParameterError(f"option packagesPerPartition={per!r}: give a positive number",
                                 parameter="packagesPerPartition")
        self.per_partition = int(per)
        verify = str(options.get("verify", "false")).lower()
        if verify not in ("true", "false"):
            raise ParameterError(f"option verify={verify!r}: give true or false",
                                 parameter="verify")
        self.verify = verify == "true"
        self.package_column = options.get("packageColumn")
        # the exact Arrow schema Spark checks the batches against
        self.arrow_schema = to_arrow_schema(schema, timezone="UTC")

    def partitions(self) -> list[PackagePartition]:
        paths = expand_paths(_paths_text(self.paths))
        step = self.per_partition
        return [PackagePartition(paths[i:i + step]) for i in range(0, len(paths), step)]

    def read(self, partition: PackagePartition) -> Iterator[pa.RecordBatch]:
        from vpkg.package import open_package

        for path in partition.paths:
            with open_package(path) as pkg:
                if self.verify:
                    pkg.verify()
                reader = pkg.reader(self.table, batch_size=self.batch_size)
                for batch in reader:
                    yield self._to_spark(batch, path)

    def _to_spark(self, batch: pa.RecordBatch, path: str) -> pa.RecordBatch:
        """The batch in Spark's Arrow types: a safe cast (large_string -> string, ms -> us)."""
        columns = list(batch.columns)
        if self.package_column:
            columns.append(pa.array([path] * batch.num_rows, pa.string()))
        return pa.RecordBatch.from_arrays(
            [c.cast(f.type) for c, f in zip(columns, self.arrow_schema, strict=True)],
            schema=self.arrow_schema,
        )


def _paths_text(paths: str) -> str:
    """``load([...])`` passes a JSON list in the ``paths`` option; ``load(str)`` a string."""
    text = paths.strip()
    if text.startswith("["):
        import json

        return ",".join(json.loads(text))
    return text
