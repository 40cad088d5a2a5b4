"""``dataset_catalog.json``: read it, and find each table's member through it.

Members are found by the catalog's ``fileType`` when the package has a catalog, and by their
usual path under ``ncbi_dataset/data/`` otherwise (`vpkg.tables` names both).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from vpkg.errors import FormatError
from vpkg.tables import DATA_DIR, TABLES

if TYPE_CHECKING:  # pragma: no cover
    from vpkg.container import Container

CATALOG = f"{DATA_DIR}/dataset_catalog.json"


def read_catalog(container: Container) -> dict | None:
    """The parsed catalog, or None when the package has none."""
    if CATALOG not in container.members():
        return None
    with container.open_member(CATALOG) as fh:
        raw = fh.read()
    try:
        catalog = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FormatError(
            f"{container.path}: {CATALOG} is not valid JSON ({exc}); the package is damaged",
            member=CATALOG,
        ) from exc
    if not isinstance(catalog, dict):
        raise FormatError(f"{container.path}: {CATALOG} is not a JSON object", member=CATALOG)
    return catalog


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


def missing_members(catalog: dict | None, names: list[str]) -> list[str]:
    """Members the catalog lists that the package lacks (an incomplete download)."""
    present = set(names)
    return [member for _type, member in catalog_files(catalog) if member not in present]


def member_path(file_path: str) -> str:
    """A catalog ``filePath`` (relative to ncbi_dataset/data) as a member path."""
    path = PurePosixPath(file_path.replace("\\", "/"))
    return str(PurePosixPath(DATA_DIR) / path)
