"""docs/export.md: every `sh` block runs as written, on copies of real packages; the outputs
it shows are checked against the packages' raw members."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import REAL, zip_members

DOC = Path(__file__).resolve().parent.parent / "docs" / "export.md"
BIN = Path(sys.executable).parent
HANTA = next(p for p in REAL if "Hantavirus" in p.name)
ROTA = next(p for p in REAL if "Rotavirus" in p.name)


def reports(package: Path) -> list[dict]:
    data = zip_members(package)["ncbi_dataset/data/data_report.jsonl"].decode()
    return [json.loads(line) for line in data.splitlines() if line.strip()]


def test_every_example_runs_and_its_outputs_are_right(tmp_path):
    for package in (HANTA, ROTA):
        shutil.copy(package, tmp_path / package.name)
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    outputs = []
    blocks = re.findall(r"```sh\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    assert len(blocks) == 4
    for block in blocks:
        child = subprocess.run(["bash", "-euo", "pipefail", "-c", block], cwd=tmp_path,
                               env=env, capture_output=True, text=True, timeout=120)
        assert child.returncode == 0, f"{block}\n{child.stderr}"
        outputs.append(child.stdout)
    complete = [r for r in reports(HANTA) if r["completeness"] == "COMPLETE"]
    fasta = (tmp_path / "out/genome_sequences.fna").read_text().splitlines()
    assert fasta[::2] == [f">{r['accession'].split('.')[0]} {r['virus']['organismName']}"
                          for r in complete]
    both = [json.loads(x) for x in (tmp_path / "both/genomes.ndjson").read_text().splitlines()]
    assert both == [{"package_file": p.name, "accession": r["accession"], "length": r["length"]}
                    for p in (HANTA, ROTA) for r in reports(p) if r["length"] > 3000]
    assert {p.name for p in (tmp_path / "tables").iterdir()} == {"genomes.tsv",
                                                                 "genome_sequences.tsv"}
    long = [r for r in reports(HANTA) if r["length"] > 6000]
    assert outputs[2].splitlines() == ["Accession\tGeographic Location\tIs Vaccine Strain\t"
                                       "host_tax_id"] + [
        f"{r['accession']}\t{r.get('location', {}).get('geographicLocation', '')}\t"
        f"{'true' if r.get('isVaccineStrain') else ''}\t{r.get('host', {}).get('taxId', '')}"
        for r in long]
    lines = outputs[3].splitlines()
    assert lines[:3] == ["package_file,genomes", f"{HANTA.name},{len(reports(HANTA))}",
                         f"{ROTA.name},{len(reports(ROTA))}"]
    assert lines[-2:] == ["genomes", str(len(reports(HANTA)))]
