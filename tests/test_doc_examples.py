"""Every example of the README and of docs/parquet.md, sql.md and warehouse.md runs as written.

Each document runs, block after block, in a fresh copy of the repository (its tracked
files, with ``.venv`` linked in), the way a new user pastes them:

- ```` ```sh ```` blocks run in bash (``set -e``); each must succeed.
- ```` ```console ```` blocks hold ``$ command`` lines, each followed by its exact output
  (stdout and stderr together); the absolute path of the copy is written ``…`` there.
- ```` ```python ```` blocks run in one namespace per document; ```` ```sql ```` blocks run
  on its ``con`` (a new in-memory DuckDB connection when there is none).
- A python or sql block followed by a ```` ```text ```` block must print exactly that.

Other blocks (bare ```` ``` ````: synopses) are not run, nor the Spark example where
pyspark is not installed. For the docs, ``vpkg`` is on PATH
(they assume an activated environment); for the README it is not: the README itself says
how to run it. Two README commands are not run: ``make test`` (this suite) and ``pip
install`` (it needs the package index).
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ["README.md", "docs/parquet.md", "docs/sql.md", "docs/warehouse.md"]
NOT_RUN = ("make test", "pip install")
FENCE = re.compile(r"^( *)```(\w*)\n(.*?)^\1```$", re.S | re.M)


def blocks(text: str) -> list[tuple[str, str]]:
    """(language, text) of every fenced block, indented ones (in a list item) included."""
    return [(m.group(2), textwrap.dedent(m.group(3))) for m in FENCE.finditer(text)]


@pytest.fixture(scope="module")
def clean_copy(tmp_path_factory) -> Path:
    """The tracked files of the repository, as a fresh clone has them, with .venv linked."""
    copy = tmp_path_factory.mktemp("clone")
    files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others",
                            "--exclude-standard"], cwd=ROOT, capture_output=True,
                           check=True).stdout.decode().split("\0")
    for name in filter(None, files):
        source, target = ROOT / name, copy / name
        if not source.is_file():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(source.read_bytes())
        os.utime(target, (source.stat().st_atime, source.stat().st_mtime))
    (copy / ".venv").symlink_to(Path(sys.prefix))
    return copy


def shell(script: str, cwd: Path, on_path: bool) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    for name in ("VIRTUAL_ENV", "MAKEFLAGS", "MFLAGS", "MAKELEVEL"):  # a user's plain shell,
        env.pop(name, None)  # even under `make test` (a nested make says "Entering ...")
    bin_dir = str(Path(sys.executable).parent)
    parts = [p for p in env.get("PATH", "").split(os.pathsep) if p != bin_dir]
    env["PATH"] = os.pathsep.join(([bin_dir] if on_path else []) + parts)
    return subprocess.run(["bash", "-c", script], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600)


def console_steps(body: str) -> list[tuple[str, str]]:
    """(command, expected output) of each ``$`` line of a console block."""
    steps: list[tuple[str, list[str]]] = []
    for line in body.splitlines():
        if line.startswith("$ "):
            steps.append((line[2:], []))
        elif steps:
            steps[-1][1].append(line)
    return [(cmd, "\n".join(out).rstrip()) for cmd, out in steps]


def tidy(text: str, workdir: Path) -> str:
    text = text.replace(str(workdir.resolve()), "…").replace(str(workdir), "…")
    return "\n".join(line.rstrip() for line in text.rstrip().splitlines())


@pytest.mark.parametrize("doc", DOCS)
def test_examples_run_as_written(doc, clean_copy, tmp_path, monkeypatch):
    work = tmp_path / "repo"
    subprocess.run(["cp", "-a", f"{clean_copy}/.", str(work)], check=True)
    monkeypatch.chdir(work)
    on_path = doc != "README.md"
    namespace: dict = {}
    found = blocks((ROOT / doc).read_text(encoding="utf-8"))
    ran = 0
    for i, (lang, body) in enumerate(found):
        following = found[i + 1] if i + 1 < len(found) else ("", "")
        expected = following[1].rstrip() if following[0] == "text" else None
        where = f"{doc} block {i + 1} ({lang})"
        if lang == "sh":
            script = "\n".join(ln for ln in body.splitlines()
                               if not ln.lstrip().startswith(NOT_RUN))
            done = shell("set -e\n" + script, work, on_path)
            assert done.returncode == 0, f"{where}:\n{script}\n{done.stdout}{done.stderr}"
            if "make demo" in script:  # its output ends by saying how to run vpkg
                last = done.stdout.rstrip().splitlines()[-1]
                assert last.startswith("Run vpkg yourself: .venv/bin/vpkg --help"), last
        elif lang == "console":
            for command, output in console_steps(body):
                done = shell(command, work, on_path)
                got = tidy(done.stdout + done.stderr, work)
                assert got == tidy(output, work), f"{where}: $ {command}"
        elif lang == "python":
            spark = "pyspark" in body
            if spark and importlib.util.find_spec("pyspark") is None:
                continue  # the Spark example needs pyspark (and a JDK): run where installed
            if spark:  # Spark's Python workers run this interpreter, where vpkg is installed
                monkeypatch.setenv("PYSPARK_PYTHON", sys.executable)
            printed = io.StringIO()
            try:
                with contextlib.redirect_stdout(printed):
                    exec(compile(body, where, "exec"), namespace)
            finally:
                if spark and "spark" in namespace:
                    namespace["spark"].stop()  # later tests start their own session
            if expected is not None:
                assert tidy(printed.getvalue(), work) == tidy(expected, work), where
        elif lang == "sql":
            con = namespace.get("con") or namespace.setdefault("_con", duckdb.connect())
            statements = [s for s in body.split(";") if s.strip()]
            result = None
            for statement in statements:
                result = con.sql(statement)
                if result is not None and statement is not statements[-1]:
                    result.fetchall()
            if expected is not None:
                assert tidy(str(result), work) == tidy(expected, work), where
            elif result is not None:
                result.fetchall()
        else:
            continue
        ran += 1
    assert ran > 0
