"""Package: an NCBI Datasets virus data package, as a zip or the directory it was extracted to.

Members are located through ``dataset_catalog.json`` when present, and by their usual path
under ``ncbi_dataset/data/`` otherwise. Tables are read lazily, in batches.

>>> import vpkg
>>> pkg = vpkg.open_package("fixtures/real/Rotavirus_J.zip")
>>> pkg.tables()
['genomes', 'genome_sequences']
>>> pkg.table("genomes").num_rows
32
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, TYPE_CHECKING

from vpkg.errors import (
    FormatError,
    IntegrityError,
    MemberNotFoundError,
    PackageError,
    ParameterError,
)

if TYPE_CHECKING:  # pragma: no cover
    import duckdb
    import pyarrow as pa

DATA_DIR = "ncbi_dataset/data"
CATALOG = f"{DATA_DIR}/dataset_catalog.json"
MD5SUMS = "md5sum.txt"
CHUNK = 1 << 20
#: Members at least this large are inflated on a second thread (`vpkg.inflate`).
STREAM_SIZE = 1 << 20
#: What reading a damaged zip member raises (bad CRC, bad deflate data, truncation).
READ_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError)


@dataclass(frozen=True)
class TableSource:
    """Where a table comes from: the catalog file type and the member's usual file name."""

    file_type: str
    file_name: str


# table name -> its source member; order is the order of `Package.tables()`
TABLE_SOURCES: dict[str, TableSource] = {
    "genomes": TableSource("DATA_REPORT", "data_report.jsonl"),
    "genome_sequences": TableSource("GENOMIC_NUCLEOTIDE_FASTA", "genomic.fna"),
    "cds_sequences": TableSource("CDS_NUCLEOTIDE_FASTA", "cds.fna"),
    "protein_sequences": TableSource("PROTEIN_FASTA", "protein.faa"),
    "annotations": TableSource("ANNOTATION_REPORT", "annotation_report.jsonl"),
    "biosamples": TableSource("BIOSAMPLE_REPORT", "biosample_report.jsonl"),
}


def open_package(path: str | os.PathLike) -> Package:
    """Open a package zip, or a directory a package zip was extracted to.

    Parameters
    ----------
    path
        The ``.zip`` file, or the directory holding ``ncbi_dataset/`` (the folder
        ``ncbi_dataset`` or ``ncbi_dataset/data`` itself are accepted too).

    Raises
    ------
    PackageError
        When the path does not exist or is not a readable zip.
    """
    return Package(path)


class Package:
    """An NCBI Datasets virus genome data package. Create it with `open_package`."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        if self.path.is_dir():
            self._root = _find_root(self.path)
            self._zip = None
        elif self.path.is_file():
            self._root = None
            self._zip = _open_zip(self.path)
        else:
            raise PackageError(f"{self.path}: no such file or directory")
        self._names = self._list_members()
        self.catalog = self._read_catalog()
        self._members = self._locate_tables()

    def close(self) -> None:
        """Release the zip file handle (a no-op for a directory)."""
        if self._zip is not None:
            self._zip.close()

    def __enter__(self) -> Package:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<vpkg.Package {str(self.path)!r} tables={self.tables()}>"

    # ---- members -----------------------------------------------------------------------
    def members(self) -> list[str]:
        """Paths of every file in the package, relative to its root (``ncbi_dataset/...``)."""
        return list(self._names)

    def member_size(self, member: str) -> int:
        """Uncompressed size in bytes of a member."""
        if self._zip is not None:
            return self._zip.getinfo(member).file_size
        return (self._root / member).stat().st_size

    def open_member(self, member: str) -> IO[bytes]:
        """Open a member for streaming binary reading."""
        if member not in self._names:
            raise MemberNotFoundError(
                f"{self.path}: the package has no member {member!r}", member=member
            )
        if self._zip is not None:
            try:
                info = self._zip.getinfo(member)
                if info.file_size >= STREAM_SIZE:
                    from vpkg.inflate import MemberStream, can_stream

                    if can_stream(info):
                        return MemberStream(self.path, info)  # inflated on a second thread
                return self._zip.open(member)
            except (zipfile.BadZipFile, OSError, NotImplementedError) as exc:
                raise PackageError(f"{self.path}: cannot read member {member}: {exc}") from exc
        return open(self._root / member, "rb")

    @property
    def api_version(self) -> str | None:
        """The catalog's ``apiVersion`` (``V1`` or ``V2``), or None without a catalog."""
        return self.catalog.get("apiVersion") if self.catalog else None

    # ---- tables ------------------------------------------------------------------------
    def tables(self) -> list[str]:
        """Names of the tables this package holds, in contract order."""
        return [name for name in TABLE_SOURCES if name in self._members]

    def member_for(self, table: str) -> str:
        """The member path a table is read from; raises if the package lacks it."""
        if table not in TABLE_SOURCES:
            raise ParameterError(
                f"unknown table {table!r}; the tables are: {', '.join(TABLE_SOURCES)}",
                parameter="table",
            )
        if table not in self._members:
            usual = TABLE_SOURCES[table].file_name
            raise MemberNotFoundError(
                f"{self.path}: table {table!r} needs {usual}, which this package does not "
                f"hold; download it again with that member included "
                f"(for example `vpkg download --include ...`)",
                member=usual,
            )
        return self._members[table]

    def reader(self, table: str, batch_size: int = 65536) -> pa.RecordBatchReader:
        """Stream a table as Arrow record batches of at most ``batch_size`` rows."""
        from vpkg.readers import open_reader

        if batch_size < 1:
            raise ParameterError("batch_size must be a positive number of rows", "batch_size")
        member = self.member_for(table)
        return open_reader(table, self, member, batch_size)

    def table(self, table: str) -> pa.Table:
        """Read a whole table into memory."""
        return self.reader(table).read_all()

    def to_duckdb(self, con: duckdb.DuckDBPyConnection | None = None, **kwargs):
        """A DuckDB connection with one view per table (see `vpkg.sinks.duckdb`)."""
        from vpkg.sinks.duckdb import package_to_duckdb

        return package_to_duckdb(self, con, **kwargs)

    def to_parquet(self, outdir: str | os.PathLike, **kwargs):
        """Write ``<outdir>/<table>.parquet`` for every table (see `vpkg.sinks.parquet`)."""
        from vpkg.sinks.parquet import package_to_parquet

        return package_to_parquet(self, outdir, **kwargs)

    # ---- integrity ---------------------------------------------------------------------
    def md5sums(self) -> dict[str, str]:
        """The md5 of each member listed in ``md5sum.txt`` (empty when there is none)."""
        if MD5SUMS not in self._names:
            return {}
        sums: dict[str, str] = {}
        with self.open_member(MD5SUMS) as fh:
            for number, raw in enumerate(fh, start=1):
                line = raw.decode("utf-8", "replace").strip()
                if not line:
                    continue
                digest, _, name = line.partition(" ")
                name = name.strip().lstrip("*")
                if len(digest) != 32 or not name:
                    raise FormatError(
                        f"{self.path}: {MD5SUMS} line {number} is not '<md5>  <path>': "
                        f"{line[:80]!r}",
                        member=MD5SUMS,
                        line=number,
                    )
                sums[name] = digest.lower()
        return sums

    def verify(self) -> dict[str, str]:
        """Check every zip CRC and every md5 in ``md5sum.txt``.

        Returns the md5 of every member read. Raises `IntegrityError` naming the first
        member whose CRC or md5 does not match, or that ``md5sum.txt`` lists but the
        package lacks.
        """
        expected = self.md5sums()
        for name in expected:
            if name not in self._names:
                raise IntegrityError(
                    f"{self.path}: md5sum.txt lists {name}, which the package lacks; "
                    "the download is incomplete, download it again",
                    member=name,
                )
        digests = {}
        for name in self._names:
            digests[name] = self.member_md5(name)
            if name in expected and digests[name] != expected[name]:
                raise IntegrityError(
                    f"{self.path}: {name} has md5 {digests[name]}, but md5sum.txt says "
                    f"{expected[name]}; the file is corrupt, download it again",
                    member=name,
                )
        return digests

    def member_md5(self, member: str) -> str:
        """The md5 of a member's content; `IntegrityError` when the member is damaged."""
        digest = hashlib.md5()
        try:
            with self.open_member(member) as fh:
                while chunk := fh.read(CHUNK):
                    digest.update(chunk)
        except READ_ERRORS as exc:
            raise IntegrityError(
                f"{self.path}: {member} is corrupt ({exc}); download the package again",
                member=member,
            ) from exc
        return digest.hexdigest()

    # ---- internals ---------------------------------------------------------------------
    def _list_members(self) -> list[str]:
        if self._zip is not None:
            return [i.filename for i in self._zip.infolist() if not i.is_dir()]
        names = []
        for dirpath, _dirs, files in os.walk(self._root):
            for file in files:
                full = Path(dirpath, file)
                names.append(full.relative_to(self._root).as_posix())
        return sorted(names)

    def _read_catalog(self) -> dict | None:
        if CATALOG not in self._names:
            return None
        with self.open_member(CATALOG) as fh:
            raw = fh.read()
        try:
            catalog = json.loads(raw.decode("utf-8-sig"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise FormatError(
                f"{self.path}: {CATALOG} is not valid JSON ({exc}); the package is damaged",
                member=CATALOG,
            ) from exc
        if not isinstance(catalog, dict):
            raise FormatError(f"{self.path}: {CATALOG} is not a JSON object", member=CATALOG)
        return catalog

    def _catalog_files(self) -> Iterator[tuple[str, str]]:
        """(fileType, member path) for every file the catalog lists."""
        if not self.catalog:
            return
        groups = list(self.catalog.get("assemblies") or [])
        for key in ("genes", "microbigge", "taxons"):
            if isinstance(self.catalog.get(key), dict):
                groups.append(self.catalog[key])
        for group in groups:
            for entry in (group or {}).get("files") or []:
                file_path = entry.get("filePath")
                if isinstance(file_path, str):
                    yield entry.get("fileType", ""), _member_path(file_path)

    def catalog_members(self) -> list[str]:
        """The member paths ``dataset_catalog.json`` lists (present or not), in its order."""
        return [member for _, member in self._catalog_files()]

    def _locate_tables(self) -> dict[str, str]:
        by_type: dict[str, list[str]] = {}
        for file_type, member in self._catalog_files():
            by_type.setdefault(file_type, []).append(member)
        located = {}
        for table, source in TABLE_SOURCES.items():
            usual = f"{DATA_DIR}/{source.file_name}"
            listed = [m for m in by_type.get(source.file_type, []) if m in self._names]
            # several files of one type: prefer the usual name (e.g. data_report.jsonl)
            if usual in listed or (not listed and usual in self._names):
                located[table] = usual
            elif listed:
                located[table] = listed[0]
        return located


def _member_path(file_path: str) -> str:
    """A catalog ``filePath`` (relative to ncbi_dataset/data) as a member path."""
    path = PurePosixPath(file_path.replace("\\", "/"))
    return str(PurePosixPath(DATA_DIR) / path)


def _find_root(directory: Path) -> Path:
    """The folder that holds ``ncbi_dataset/`` for an extracted package."""
    resolved = directory.resolve()
    for candidate in (resolved, resolved.parent, resolved.parent.parent):
        if (candidate / DATA_DIR).is_dir():
            return candidate
    raise PackageError(
        f"{directory}: not an extracted NCBI Datasets package (no {DATA_DIR}/ folder); "
        "give the .zip file or the folder it was extracted to"
    )


def _open_zip(path: Path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise PackageError(f"{path}: not a zip file{_sniff(path)}") from exc
    except OSError as exc:
        raise PackageError(f"{path}: cannot read the file ({exc.strerror or exc})") from exc


def _sniff(path: Path) -> str:
    """A hint at what a file that is not a zip holds (error pages saved as .zip)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(512)
    except OSError:
        return ""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if not head:
        return " (it is empty); download it again"
    if text.startswith((b"<!doctype html", b"<html", b"<?xml", b"<")):
        return (
            " (it looks like an HTML page, probably an error page saved as .zip); "
            "download it again"
        )
    if text.startswith((b"{", b"[")):
        return " (it looks like JSON, probably an API error message); download it again"
    if head.startswith(b"PK"):
        return " (it starts like a zip but is truncated or damaged); download it again"
    return "; download it again"
