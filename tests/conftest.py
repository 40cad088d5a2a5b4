"""Shared test helpers: fixture paths and small package builders."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
REAL = sorted((FIXTURES / "real").glob("*.zip"))
CONSTRUCTED = FIXTURES / "constructed"
SAMPLES = FIXTURES / "samples"
DATA = "ncbi_dataset/data"
ROOT_FILES = ("README.md", "md5sum.txt")


def member_path(name: str) -> str:
    """A member name as given to the builders: full path, root file, or under data/."""
    if name.startswith("ncbi_dataset/") or name in ROOT_FILES:
        return name
    return f"{DATA}/{name}"


def build_dir(root: Path, members: dict[str, bytes | str]) -> Path:
    """An extracted package at ``root`` holding ``members`` (see `member_path`)."""
    for name, content in members.items():
        path = root / member_path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode() if isinstance(content, str) else content)
    (root / DATA).mkdir(parents=True, exist_ok=True)
    return root


def build_zip(path: Path, members: dict[str, bytes | str]) -> Path:
    """A package zip at ``path`` holding ``members`` (see `member_path`)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in members.items():
            zf.writestr(member_path(name), content)
    return path


def zip_members(path: Path) -> dict[str, bytes]:
    """Every member of a zip, read with the standard library alone."""
    with zipfile.ZipFile(path) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def leaves(obj, prefix=()):
    """(path, scalar) for every scalar in a JSON value; list positions are path items."""
    if isinstance(obj, dict):
        for key, value in obj.items():
            yield from leaves(value, (*prefix, key))
    elif isinstance(obj, list):
        for i, value in enumerate(obj):
            yield from leaves(value, (*prefix, i))
    else:
        yield prefix, obj


@pytest.fixture(params=REAL, ids=[p.stem for p in REAL])
def real_zip(request) -> Path:
    return request.param


#: The primary keys vpkg gave the warehouse tables before layout version 3.
OLD_KEYS = {"genomes": ("accession",), "genome_sequences": ("accession",),
            "cds_sequences": ("id",), "protein_sequences": ("id",), "annotations": (),
            "biosamples": ("accession",)}


def older_layout(db: Path) -> None:
    """Rewrite a warehouse ``vpkg load`` made into the layout of vpkg before layout version 3
    without sync (version 1): ``genomes`` a table, primary keys, no ``vpkg_warehouse``."""
    import duckdb

    con = duckdb.connect(str(db))
    for table, key in OLD_KEYS.items():
        columns = con.execute(f"DESCRIBE {table}").fetchall()
        defs = [f'"{c[0]}" {c[1]}' for c in columns]
        if key:
            defs.append(f"PRIMARY KEY ({', '.join(key)})")
        con.execute(f"CREATE TABLE old_{table} ({', '.join(defs)})")
        con.execute(f"INSERT INTO old_{table} SELECT * FROM {table}")
        con.execute(f"DROP {'VIEW' if table == 'genomes' else 'TABLE'} {table}")
        con.execute(f"ALTER TABLE old_{table} RENAME TO {table}")
    con.execute("DROP TABLE genomes_base; DROP TABLE genome_lineages; DROP TABLE vpkg_warehouse")
    con.close()
