"""The package as files: a zip, the folder it was extracted to, or one bare member file.

`Container` lists the members, opens them as binary streams (large zip members are inflated
on a second thread, see `vpkg.container.inflate`) and finds each table's member through the
catalog (`vpkg.container.catalog`). It knows nothing of Arrow: opening and verifying a
download imports no pyarrow. `vpkg.container.integrity` checks CRCs and md5s.

>>> from vpkg.container import open_container
>>> with open_container("fixtures/real/Rotavirus_J.zip") as c:
...     c.tables(), c.member_for("genomes")
(['genomes', 'genome_sequences'], 'ncbi_dataset/data/data_report.jsonl')
"""

from __future__ import annotations

import json
import os
import zipfile
import zlib
from pathlib import Path
from typing import IO

from vpkg.container.catalog import CATALOG, catalog_files, locate_tables
from vpkg.errors import FormatError, MemberNotFoundError, PackageError
from vpkg.tables import DATA_DIR, TABLES, by_file_name, spec

__all__ = ["CATALOG", "DATA_DIR", "MD5SUMS", "READ_ERRORS", "Container", "is_duckdb_file",
           "open_container"]

MD5SUMS = "md5sum.txt"
#: Members at least this large are inflated on a second thread (`vpkg.container.inflate`).
STREAM_SIZE = 1 << 20
#: What reading a damaged zip member raises (bad CRC, bad deflate data, truncation).
READ_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError)
#: Bare files opened as a one-member package, by suffix, when their name is not a member's.
BARE_SUFFIXES = {".fna": "genomic.fna", ".fasta": "genomic.fna", ".fa": "genomic.fna",
                 ".faa": "protein.faa"}


def open_container(path: str | os.PathLike) -> Container:
    """Open a package zip, an extracted package folder, or one bare member file."""
    return Container(path)


class Container:
    """The files of one package. Create it with `open_container` (or `vpkg.open_package`).

    Parameters
    ----------
    path
        The ``.zip`` file; the folder holding ``ncbi_dataset/`` (or ``ncbi_dataset`` or
        ``ncbi_dataset/data`` itself); or a bare ``data_report.jsonl``,
        ``annotation_report.jsonl``, ``biosample_report.jsonl`` or FASTA file, which opens
        as a package of that one member.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self._zip: zipfile.ZipFile | None = None
        self._root: Path | None = None
        self._files: dict[str, Path] = {}  # member -> file, for a bare member
        if self.path.is_dir():
            self._root = _find_root(self.path)
        elif not self.path.is_file():
            raise PackageError(f"{self.path}: no such file or directory")
        elif (member := _bare_member(self.path)) is not None:
            self._files[member] = self.path
        else:
            self._zip = _open_zip(self.path)
        self._names = self._list_members()
        self.catalog = self._read_catalog()
        self._members = locate_tables(self.catalog, self._names)

    def close(self) -> None:
        """Release the zip file handle (a no-op for a folder)."""
        if self._zip is not None:
            self._zip.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<vpkg.{type(self).__name__} {str(self.path)!r} tables={self.tables()}>"

    # ---- members -----------------------------------------------------------------------------
    def members(self) -> list[str]:
        """Paths of every file in the package, relative to its root (``ncbi_dataset/...``)."""
        return list(self._names)

    def member_size(self, member: str) -> int:
        """Uncompressed size in bytes of a member."""
        if self._zip is not None:
            return self._zip.getinfo(member).file_size
        return self._file(member).stat().st_size

    def open_member(self, member: str) -> IO[bytes]:
        """Open a member for streaming binary reading."""
        if member not in self._names:
            raise MemberNotFoundError(
                f"{self.path}: the package has no member {member!r}", member=member
            )
        if self._zip is None:
            return open(self._file(member), "rb")
        try:
            info = self._zip.getinfo(member)
            if info.file_size >= STREAM_SIZE:
                from vpkg.container.inflate import MemberStream, can_stream

                if can_stream(info):
                    return MemberStream(self.path, info)  # inflated on a second thread
            return self._zip.open(member)
        except (zipfile.BadZipFile, OSError, NotImplementedError) as exc:
            raise PackageError(f"{self.path}: cannot read member {member}: {exc}") from exc

    @property
    def is_zip(self) -> bool:
        """Whether the package is a zip file (not a folder or a bare member)."""
        return self._zip is not None

    def catalog_members(self) -> list[str]:
        """The member paths ``dataset_catalog.json`` lists (present or not), in its order."""
        return [member for _type, member in catalog_files(self.catalog)]

    @property
    def api_version(self) -> str | None:
        """The catalog's ``apiVersion`` (``V1`` or ``V2``), or None without a catalog."""
        return self.catalog.get("apiVersion") if self.catalog else None

    # ---- tables ------------------------------------------------------------------------------
    def tables(self) -> list[str]:
        """Names of the tables this package holds, in contract order."""
        return [name for name in TABLES if name in self._members]

    def member_for(self, table: str) -> str:
        """The member path a table is read from; raises if the package lacks it."""
        usual = spec(table).file_name
        if table not in self._members:
            raise MemberNotFoundError(
                f"{self.path}: table {table!r} needs {usual}, which this package does not "
                f"hold; download it again with that member included "
                f"(for example `vpkg download --include ...`)",
                member=usual,
            )
        return self._members[table]

    # ---- internals ---------------------------------------------------------------------------
    def _file(self, member: str) -> Path:
        return self._files[member] if self._files else self._root / member

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

    def _list_members(self) -> list[str]:
        if self._files:
            return list(self._files)
        if self._zip is not None:
            return [i.filename for i in self._zip.infolist() if not i.is_dir()]
        names = []
        for dirpath, _dirs, files in os.walk(self._root):
            for file in files:
                full = Path(dirpath, file)
                names.append(full.relative_to(self._root).as_posix())
        return sorted(names)


def _bare_member(path: Path) -> str | None:
    """The member a bare report or FASTA file stands for (None: it is not one)."""
    table = by_file_name(path.name)
    file_name = table.file_name if table else BARE_SUFFIXES.get(path.suffix.lower())
    if file_name is None or _magic(path).startswith(b"PK"):
        return None
    return f"{DATA_DIR}/{file_name}"


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
        raise PackageError(f"{path}: {_not_a_zip(path)}") from exc
    except OSError as exc:
        raise PackageError(f"{path}: cannot read the file ({exc.strerror or exc})") from exc


def is_duckdb_file(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a DuckDB database file (DuckDB's magic bytes at offset 8)."""
    return _magic(Path(path))[8:12] == b"DUCK"


def _magic(path: Path) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read(512)
    except OSError:
        return b""


def _not_a_zip(path: Path) -> str:
    """What a file given as a package holds instead, and what to do with it."""
    head = _magic(path)
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    accepted = ("give a package .zip, its extracted folder, or a bare data_report.jsonl, "
                "annotation_report.jsonl, biosample_report.jsonl or FASTA file")
    if not head:
        return "the file is empty, not a package zip; download it again"
    if is_duckdb_file(path):
        return (f"this is a DuckDB database, not a package; query it with "
                f"`vpkg sql {path} \"SELECT ...\"`")
    if head.startswith(b"PAR1"):
        return ("this is a Parquet file, not a package; read it with DuckDB, pyarrow or "
                "pandas (see docs/parquet.md)")
    if head.startswith(b"PK"):
        return "not a zip file: it starts like a zip but is truncated or damaged; download it again"
    if text.startswith((b"<!doctype html", b"<html", b"<?xml", b"<")):
        return ("not a zip file: it looks like an HTML page, probably an error page saved "
                "as .zip; download it again")
    if text.startswith((b"{", b"[")):
        return ("not a zip file: it looks like JSON, probably an API error message saved "
                "as .zip; download it again")
    if b"\0" not in head:
        return f"not a zip file but text; {accepted}"
    return f"not a zip file; {accepted}, or download it again"
