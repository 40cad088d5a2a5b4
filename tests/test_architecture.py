"""The shape of the code: layers without cycles, and no Arrow where none is needed.

The layer contract itself is in pyproject.toml (``[tool.importlinter]``), checked by
``lint-imports`` in ``make test``; these tests check what that contract cannot say.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import grimp
from ncbi_server import ncbi_fixture  # noqa: F401  (fixture)

REPO = Path(__file__).resolve().parent.parent


def cycles(graph: grimp.ImportGraph) -> list[set[str]]:
    """The import cycles among modules (strongly connected components of two or more)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[set[str]] = []

    def visit(module: str) -> None:  # Tarjan's algorithm
        index[module] = low[module] = len(index)
        stack.append(module)
        for imported in graph.find_modules_directly_imported_by(module):
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            component = set()
            while True:
                member = stack.pop()
                component.add(member)
                if member == module:
                    break
            if len(component) > 1:
                found.append(component)

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return found


def test_the_import_graph_has_no_cycle():
    # imports inside functions count; those for type hints only (TYPE_CHECKING) are never made
    graph = grimp.build_graph("vpkg", exclude_type_checking_imports=True)
    assert len(graph.modules) > 30
    assert cycles(graph) == []


def test_cycle_finder_finds_a_cycle():
    graph = grimp.ImportGraph()
    for name in ("a", "b", "c"):
        graph.add_module(name)
    graph.add_import(importer="a", imported="b")
    graph.add_import(importer="b", imported="a")
    graph.add_import(importer="b", imported="c")
    assert cycles(graph) == [{"a", "b"}]


def python(code: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                          text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(REPO), **env})


def test_fetching_imports_no_arrow():
    done = python("import sys, vpkg.fetch, vpkg.container.integrity; "
                  "print(sorted(m for m in sys.modules if m.split('.')[0] in "
                  "('pyarrow', 'duckdb')))")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_vpkg_download_imports_no_arrow(ncbi, tmp_path):
    """A whole `vpkg download` (request, stream, verify, rename) loads neither."""
    dest = tmp_path / "out.zip"
    done = python(
        "import sys\nfrom vpkg.cli import main\n"
        f"code = main(['download', 'NC_045512.2', '--filename', {str(dest)!r}])\n"
        "print(code, sorted(m for m in sys.modules if m.split('.')[0] in ('pyarrow', 'duckdb')))",
        VPKG_BASE_URL=ncbi.base_url,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[-2] == "0 []"
    assert dest.read_bytes() == ncbi.package.read_bytes()


def test_architecture_page_example_prints_what_it_says(tmp_path):
    """The Python block of docs/architecture.md, run as written: each print matches the
    comment beside it."""
    page = (REPO / "docs" / "architecture.md").read_text(encoding="utf-8")
    block = page.split("```python\n", 1)[1].split("```", 1)[0]
    done = python(block)
    assert done.returncode == 0, done.stderr
    expected = [line.split("# ", 1)[1].strip() for line in block.splitlines()
                if line.startswith("print(")]
    assert done.stdout.splitlines() == expected == ["date32[day]", "32", "[(32,)]"]
