"""Merge several verified virus genome packages (the chunks of one download) into one zip.

Reports and FASTA files are concatenated in chunk order, streaming, block by block; a member
that lacks its final newline gets one, so two records are never glued together. BioSamples
shared by chunks are kept once (first occurrence). ``README.md`` and ``virus_dataset.md`` come
from the first chunk that has them. ``dataset_catalog.json`` and ``md5sum.txt`` are written
anew, in NCBI's format, for the merged members. Only the known members are read, and output
names are fixed here: a chunk's member name is never used as an output path.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import zipfile
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import IO

from vpkg.container import CATALOG, DATA_DIR, MD5SUMS, Container, open_container
from vpkg.tables import TABLES

log = logging.getLogger("vpkg.fetch")

BLOCK = 1 << 20
README = "README.md"
BIOSAMPLES = TABLES["biosamples"].file_name
#: Longest BioSample line that is de-duplicated; longer ones are copied through as they are.
MAX_LINE = 64 << 20
# data member -> catalog fileType, in the order of NCBI's catalogs (the data report first,
# then by file type)
FILE_TYPES = {
    t.file_name: t.file_type
    for t in sorted(TABLES.values(), key=lambda t: (t.file_type != "DATA_REPORT", t.file_type))
} | {"virus_dataset.md": "README"}
FASTA = frozenset(t.file_name for t in TABLES.values() if t.fasta)
FIRST_ONLY = frozenset({"virus_dataset.md"})
KNOWN = frozenset({README, MD5SUMS, CATALOG} | {f"{DATA_DIR}/{n}" for n in FILE_TYPES})
BOM = b"\xef\xbb\xbf"


class _Sink:
    """A writable member that keeps its md5, its size and its last byte."""

    def __init__(self, out: IO[bytes], progress: Callable[[int], None] | None):
        self.out, self.progress = out, progress
        self.md5, self.size, self.last = hashlib.md5(), 0, b""

    def write(self, data: bytes) -> None:
        if data:
            self.out.write(data)
            self.md5.update(data)
            self.size += len(data)
            self.last = data[-1:]
            if self.progress is not None:
                self.progress(len(data))

    def end_line(self) -> None:
        """Terminate the last line, if it is not terminated yet."""
        if self.size and self.last != b"\n":
            self.write(b"\n")


def merge_packages(
    sources: Sequence[str | os.PathLike],
    dest: str | os.PathLike,
    progress: Callable[[int], None] | None = None,
) -> dict[str, str]:
    """Write one package zip at ``dest`` holding the records of every source package.

    Parameters
    ----------
    sources
        Verified package zips (or extracted folders), in chunk order.
    dest
        The zip to write (replaced if present; removed again if merging fails).
    progress
        Called with the number of bytes each time merged data is written.

    Returns
    -------
    dict
        md5 of each member listed in the new ``md5sum.txt``.
    """
    if not sources:
        raise ValueError("merge_packages needs at least one package")
    dest = Path(dest)
    try:
        with ExitStack() as stack:
            packages = [stack.enter_context(open_container(s)) for s in sources]
            with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as out:
                return _write(packages, out, progress)
    except BaseException:
        dest.unlink(missing_ok=True)
        raise


def _write(packages: list[Container], out: zipfile.ZipFile, progress) -> dict[str, str]:
    for package in packages:
        extra = [m for m in package.members() if m not in KNOWN]
        if extra:
            shown = ", ".join(repr(m[:100]) for m in extra[:5]) + (", ..." * (len(extra) > 5))
            log.warning("%s: left out of the merged package: %s", package.path.name, shown)
    holders = {name: [p for p in packages if name in p.members()] for name in KNOWN}
    if holders[README]:
        first = holders[README][0]
        zip64 = _needs_zip64(first.member_size(README))
        with out.open(README, "w", force_zip64=zip64) as dst, first.open_member(README) as src:
            _copy(src, _Sink(dst, None), lstrip=None)
    sums: dict[str, str] = {}
    entries = []
    for name in FILE_TYPES:
        member = f"{DATA_DIR}/{name}"
        chunks = holders[member][:1] if name in FIRST_ONLY else holders[member]
        if not chunks:
            continue
        # at most one added newline per chunk
        zip64 = _needs_zip64(sum(p.member_size(member) + 1 for p in chunks))
        with out.open(member, "w", force_zip64=zip64) as dst:
            sink = _Sink(dst, progress)
            if name in FIRST_ONLY:
                with chunks[0].open_member(member) as src:
                    _copy(src, sink, lstrip=None)
            else:
                _concatenate(chunks, member, sink, name in FASTA, name == BIOSAMPLES)
        sums[member] = sink.md5.hexdigest()
        entries.append((name, FILE_TYPES[name], sink.size))
    catalog = catalog_json(_api_version(packages), entries)
    out.writestr(CATALOG, catalog)
    sums[CATALOG] = hashlib.md5(catalog).hexdigest()
    out.writestr(MD5SUMS, "".join(f"{md5}  {name}\n" for name, md5 in sums.items()))
    return sums


def _needs_zip64(bound: int) -> bool:
    """Whether a member of at most ``bound`` bytes needs zip64 headers, which must be chosen
    before writing it (zipfile's own rule, with its 5% margin)."""
    return bound * 1.05 > zipfile.ZIP64_LIMIT


def _concatenate(chunks: list[Container], member: str, sink: _Sink, fasta: bool, biosamples: bool):
    seen: set = set()
    for package in chunks:
        with package.open_member(member) as src:
            if biosamples:
                _unique_lines(src, sink, seen)
            else:
                # a FASTA member may start with blank lines, which would join the sequence
                # of the previous chunk's last record
                _copy(src, sink, lstrip=b" \t\r\n" if fasta else b"")
        sink.end_line()


def _copy(src: IO[bytes], sink: _Sink, lstrip: bytes | None = b"") -> None:
    """Copy ``src`` without a leading BOM and leading ``lstrip`` bytes (None: verbatim)."""
    start = lstrip is not None
    while block := src.read(BLOCK):
        if start:
            block = block.removeprefix(BOM).lstrip(lstrip)
            start = not block and bool(lstrip)  # blank so far: keep stripping
        sink.write(block)


def _unique_lines(src: IO[bytes], sink: _Sink, seen: set) -> None:
    """Copy JSON lines whose BioSample ``accession`` is not in ``seen``; skip blank lines."""
    first = True
    while line := src.readline(MAX_LINE + 1):
        if first:
            line, first = line.removeprefix(BOM), False
        if len(line) > MAX_LINE and not line.endswith(b"\n"):  # not worth parsing: copied
            sink.write(line)
            while piece := src.readline(BLOCK):
                sink.write(piece)
                if piece.endswith(b"\n"):
                    break
            continue
        if not line.strip():
            continue
        key = _biosample_key(line)
        if key not in seen:
            seen.add(key)
            sink.write(line)
            sink.end_line()


def _biosample_key(line: bytes) -> object:
    try:
        record = json.loads(line)
    except (ValueError, RecursionError):  # not JSON (or absurdly nested): the line is its key
        record = None
    if isinstance(record, dict) and isinstance(record.get("accession"), str):
        return record["accession"]
    return line.strip()


def _api_version(packages: list[Container]) -> str:
    versions = [p.api_version for p in packages if isinstance(p.api_version, str)]
    return versions[0] if versions else "V2"


def catalog_json(api_version: str, entries: list[tuple[str, str, int]]) -> bytes:
    """``dataset_catalog.json`` laid out exactly as NCBI writes it.

    ``entries`` are (filePath, fileType, uncompressed size). Sizes are strings (uint64 in
    protobuf JSON), and a size of 0 is left out, as protobuf JSON leaves out default values.
    """
    files = []
    for path, file_type, size in entries:
        fields = [f'"filePath": {json.dumps(path)}', f'"fileType": {json.dumps(file_type)}']
        if size:
            fields.append(f'"uncompressedLengthBytes": "{size}"')
        files.append("    {\n      " + ",\n      ".join(fields) + "\n    }")
    head = f'{{\n"apiVersion": {json.dumps(api_version)},\n"assemblies": [\n{{\n  "files": [\n'
    return (head + ",\n".join(files) + "\n  ]\n}]}\n").encode()
