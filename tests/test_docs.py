"""The table pages in docs/tables are generated from vpkg/schema.py and must stay in step."""

from pathlib import Path

import pytest

from vpkg.schema import schema, table_markdown
from vpkg.tables import TABLES

DOCS = Path(__file__).resolve().parent.parent / "docs" / "tables"


@pytest.mark.parametrize("table", list(TABLES))
def test_table_page_is_current(table):
    page = (DOCS / f"{table}.md").read_text(encoding="utf-8")
    assert page == table_markdown(table), "run: python -m vpkg.schema docs/tables"
    for column in schema(table).names:
        assert f"| `{column}` |" in page


def test_contract_columns_are_documented():
    page = (DOCS / "genomes.md").read_text(encoding="utf-8")
    for column in ["accession", "host_lineage", "virus_lineage", "sequence_hash", "extra",
                   "release_date", "collection_date", "submitter_names"]:
        assert f"| `{column}` |" in page


@pytest.mark.parametrize("module", ["vpkg", "vpkg.package"])
def test_docstring_examples_run(module, monkeypatch):
    import doctest
    import importlib

    monkeypatch.chdir(DOCS.parent.parent)
    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0 and result.failed == 0
