"""``dataset_catalog.json``: the files it lists, and each table's member through it.

Members are found by the catalog's ``fileType`` when the package has a catalog, and by their
usual path under ``ncbi_dataset/data/`` otherwise (`vpkg.tables` names both).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import PurePosixPath

from vpkg.tables import DATA_DIR, TABLES

CATALOG = f"{DATA_DIR}/dataset_catalog.json"


def catalog_files(catalog: dict | None) -> Iterator[tuple[str, str]]:
    """(fileType, member path) for every file the catalog lists."""
    if not catalog:
        return
    groups = list(catalog.get("assemblies") or [])
    for key in ("genes", "microbigge", "taxons"):
        if isinstance(catalog.get(key), dict):
            groups.append(catalog[key])
    for group in groups:
        for entry in (group or {}).get("files") or []:
            file_path = entry.get("filePath")
            if isinstance(file_path, str):
                yield entry.get("fileType", ""), member_path(file_path)


def locate_tables(catalog: dict | None, names: list[str]) -> dict[str, str]:
    """table -> the member it is read from, for every table the package holds."""
    present = set(names)
    by_type: dict[str, list[str]] = {}
    for file_type, member in catalog_files(catalog):
        by_type.setdefault(file_type, []).append(member)
    located = {}
    for table in TABLES.values():
        usual = table.usual_member
        listed = [m for m in by_type.get(table.file_type, []) if m in present]
        # several files of one type: prefer the usual name (e.g. data_report.jsonl)
        if usual in listed or (not listed and usual in present):
            located[table.name] = usual
        elif listed:
            located[table.name] = listed[0]
    return located


def member_path(file_path: str) -> str:
    """A catalog ``filePath`` (relative to ncbi_dataset/data) as a member path."""
    path = PurePosixPath(file_path.replace("\\", "/"))
    return str(PurePosixPath(DATA_DIR) / path)
