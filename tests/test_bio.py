"""Biopython views: SeqRecords with CDS features, GenBank export, the translation check.

Expected values come from the fixture's raw members (annotation_report.jsonl parsed with
json, genomic.fna / cds.fna / protein.faa parsed with Bio.SeqIO), never from vpkg's tables.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from Bio import SeqIO
from Bio.Seq import Seq
from Bio.SeqFeature import CompoundLocation
from conftest import CONSTRUCTED, DATA, zip_members

import vpkg
from vpkg.bio import check_translations, export_genbank, lineage_genetic_code
from vpkg.sinks.genbank import write_genbank

ZIP = CONSTRUCTED / "sars-cov-2_all_members.constructed.zip"
RAW = zip_members(ZIP)


def fasta(name: str) -> dict[str, str]:
    text = RAW[f"{DATA}/{name}"].decode("ascii")
    return {r.id: str(r.seq) for r in SeqIO.parse(io.StringIO(text), "fasta")}


def jsonl(name: str) -> list[dict]:
    return [json.loads(line) for line in RAW[f"{DATA}/{name}"].decode().splitlines()]


GENOMES = fasta("genomic.fna")
PROTEINS = fasta("protein.faa")
CDS_FNA = fasta("cds.fna")
REPORTS = {r["accession"]: r for r in jsonl("data_report.jsonl")}
ANNOTATION = {r["accession"]: r for r in jsonl("annotation_report.jsonl")}


def raw_cds(accession: str) -> list[dict]:
    return [c for g in ANNOTATION[accession]["genes"] for c in g.get("cds", [])]


ALL_CDS = [c for acc in ANNOTATION for c in raw_cds(acc)]


def translate(nt: str) -> str:
    aa = str(Seq(nt).translate())
    assert aa.endswith("*")
    return aa[:-1]


def extracted(tmp_path: Path) -> Path:
    root = tmp_path / "pkg"
    with zipfile.ZipFile(ZIP) as zf:
        zf.extractall(root)
    return root


def write_fasta(path: Path, records: dict[str, tuple[str, str]]) -> None:
    """records: id -> (description, sequence); 70 letters a line, as NCBI writes."""
    with open(path, "w") as out:
        for rid, (desc, seq) in records.items():
            out.write(f">{rid} {desc}\n")
            out.write("".join(seq[i:i + 70] + "\n" for i in range(0, len(seq), 70)))


def raw_headers(name: str) -> dict[str, str]:
    text = RAW[f"{DATA}/{name}"].decode("ascii")
    return {r.id: r.description.partition(" ")[2]
            for r in SeqIO.parse(io.StringIO(text), "fasta")}


# ---- SeqRecords ------------------------------------------------------------------------------


def test_every_cds_feature_translates_to_its_raw_protein():
    records = list(vpkg.open_package(ZIP).seqrecords())
    assert [r.id for r in records] == list(GENOMES)
    checked = 0
    for rec in records:
        assert str(rec.seq) == GENOMES[rec.id]
        features = [f for f in rec.features if f.type == "CDS"]
        expected = raw_cds(rec.id)
        assert len(features) == len(expected) == 12
        for feature, cds in zip(features, expected, strict=True):
            protein = PROTEINS[cds["protein"]["seqId"]]
            assert translate(str(feature.location.extract(rec.seq))) == protein
            assert feature.qualifiers["translation"] == [protein]
            assert feature.qualifiers["protein_id"] == [cds["protein"]["accessionVersion"]]
            assert feature.qualifiers["product"] == [cds["name"]]
            checked += 1
    assert checked == len(ALL_CDS) == 60


def test_orf1ab_joined_range_is_one_compound_location_translating_to_pp1ab():
    for rec in vpkg.open_package(ZIP).seqrecords():
        orf1ab = next(f for f in rec.features if f.type == "CDS")
        raw = raw_cds(rec.id)[0]
        ranges = [(int(r["begin"]), int(r["end"])) for r in raw["nucleotide"]["range"]]
        assert isinstance(orf1ab.location, CompoundLocation)
        assert [(p.start + 1, p.end) for p in orf1ab.location.parts] == ranges
        assert ranges[0][1] == ranges[1][0]  # the -1 frameshift: one base read twice
        pp1ab = PROTEINS[raw["protein"]["seqId"]]
        assert len(pp1ab) == 7096
        assert translate(str(orf1ab.location.extract(rec.seq))) == pp1ab
        assert orf1ab.qualifiers["gene"] == ["ORF1ab"]
    mt = next(vpkg.open_package(ZIP).seqrecords())
    first = next(f for f in mt.features if f.type == "CDS")
    assert [(p.start + 1, p.end) for p in first.location.parts] == [(254, 13456), (13456, 21543)]
    assert "ribosomal_slippage" in first.qualifiers  # the raw ranges say ribosomalSlippage -1


def test_source_feature_and_annotations_carry_the_raw_report():
    for rec in vpkg.open_package(ZIP).seqrecords():
        raw = REPORTS[rec.id]
        source = rec.features[0]
        assert source.type == "source"
        assert (source.location.start, source.location.end) == (0, len(GENOMES[rec.id]))
        q = source.qualifiers
        assert q["organism"] == [raw["virus"]["organismName"]]
        assert q["db_xref"] == [f"taxon:{raw['virus']['taxId']}"]
        assert q["host"] == [raw["host"]["organismName"]]
        assert q["country"] == [raw["location"]["geographicLocation"]]
        assert q["collection_date"] == [raw["isolate"]["collectionDate"]]
        assert q["isolate"] == [raw["isolate"]["name"]]
        assert q["mol_type"] == ["genomic RNA"]  # lineage: Riboviria
        assert rec.annotations["molecule_type"] == "RNA"
        assert rec.annotations["organism"] == raw["virus"]["organismName"]
        assert rec.annotations["taxonomy"] == [t["name"] for t in raw["virus"]["lineage"]][:-1]
        assert f"BioSample:{raw['biosample']}" in rec.dbxrefs


def test_mature_peptides_are_features_translating_to_their_raw_peptides():
    for rec in vpkg.open_package(ZIP).seqrecords():
        peptides = [f for f in rec.features if f.type == "mat_peptide"]
        raw = [m for c in raw_cds(rec.id) for m in c.get("maturePeptide", [])]
        assert len(peptides) == len(raw) == REPORTS[rec.id]["maturePeptideCount"]
        for feature, mp in zip(peptides, raw, strict=True):
            assert feature.qualifiers["product"] == [mp["name"]]
            got = str(feature.location.extract(rec.seq).translate())
            want = PROTEINS[mp["protein"]["seqId"]]
            assert got.rstrip("*") == want
        rdrp = next(f for f in peptides if f.qualifiers["product"] == ["RNA-dependent RNA "
                                                                         "polymerase"])
        assert isinstance(rdrp.location, CompoundLocation)


def test_cds_and_protein_records_carry_their_header_fields():
    pkg = vpkg.open_package(ZIP)
    cds = list(pkg.seqrecords("cds_sequences"))
    assert {r.id: str(r.seq) for r in cds} == CDS_FNA
    headers = raw_headers("cds.fna")
    assert [r.description for r in cds] == [headers[r.id] for r in cds]
    proteins = list(pkg.seqrecords("protein_sequences"))
    assert {r.id: str(r.seq) for r in proteins} == PROTEINS
    first = proteins[0]
    assert first.annotations["molecule_type"] == "protein"
    # raw header: >QLG76863.1:1-180 leader protein [polyprotein=ORF1ab polyprotein] ...
    assert first.annotations["organism"] == "Severe acute respiratory syndrome coronavirus 2"
    assert first.features[0].qualifiers["isolate"] == ["SARS-CoV-2/human/AUS/VIC2161/2020"]
    assert first.features[0].qualifiers["note"] == ["polyprotein: ORF1ab polyprotein"]
    assert first.features[1].qualifiers["product"] == ["leader protein"]
    with pytest.raises(vpkg.ParameterError, match="annotations"):
        pkg.seqrecords("annotations")


# ---- GenBank export --------------------------------------------------------------------------


def test_genbank_export_parses_back_to_the_same_sequences_and_cds(tmp_path):
    done = export_genbank(vpkg.open_package(ZIP), tmp_path / "out")
    assert [(d.path.name, d.rows) for d in done] == [
        ("genome_sequences.gb", len(GENOMES)), ("cds_sequences.gb", len(CDS_FNA)),
        ("protein_sequences.gb", len(PROTEINS))]
    genomes = list(SeqIO.parse(tmp_path / "out" / "genome_sequences.gb", "genbank"))
    assert [(r.id, str(r.seq)) for r in genomes] == list(GENOMES.items())
    cds = [f for r in genomes for f in r.features if f.type == "CDS"]
    assert len(cds) == len(ALL_CDS)
    assert [f.qualifiers["translation"][0] for f in cds] == [
        PROTEINS[c["protein"]["seqId"]] for c in ALL_CDS]
    for rec in genomes:
        orf1ab = next(f for f in rec.features if f.type == "CDS")
        assert [(p.start + 1, p.end) for p in orf1ab.location.parts] == [
            (int(r["begin"]), int(r["end"])) for r in raw_cds(rec.id)[0]["nucleotide"]["range"]]
        assert translate(str(orf1ab.location.extract(rec.seq))) == orf1ab.qualifiers[
            "translation"][0]
    back = {r.id: str(r.seq) for r in SeqIO.parse(tmp_path / "out" / "cds_sequences.gb",
                                                  "genbank")}
    assert back == CDS_FNA
    back = {r.id: str(r.seq) for r in SeqIO.parse(tmp_path / "out" / "protein_sequences.gb",
                                                  "genbank")}
    assert back == PROTEINS


def test_genbank_write_is_atomic(tmp_path):
    target = tmp_path / "g.gb"
    target.write_text("earlier\n")
    records = vpkg.open_package(ZIP).seqrecords()

    def failing():
        yield next(records)
        raise vpkg.VpkgError("stop")

    with pytest.raises(vpkg.VpkgError, match="stop"):
        write_genbank(failing(), target)
    assert target.read_text() == "earlier\n"
    assert [p.name for p in tmp_path.iterdir()] == ["g.gb"]


def test_cli_export_genbank(tmp_path):
    out = tmp_path / "gb"
    proc = subprocess.run([sys.executable, "-m", "vpkg", "export", str(ZIP), "-o", str(out),
                           "--format", "genbank", "--tables", "genome_sequences"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"{out / 'genome_sequences.gb'}\t5 records\n"
    records = list(SeqIO.parse(out / "genome_sequences.gb", "genbank"))
    assert [r.id for r in records] == list(GENOMES)
    proc = subprocess.run([sys.executable, "-m", "vpkg", "export", str(ZIP), "-o", str(out),
                           "--format", "genbank", "--tables", "genomes"],
                          capture_output=True, text=True)
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1 and "no sequences" in proc.stderr


# ---- translation check -----------------------------------------------------------------------


def test_check_translations_gives_one_matching_row_per_raw_cds():
    result = check_translations(vpkg.open_package(ZIP))
    rows = result.to_pylist()
    assert [r["cds_id"] for r in rows] == [c["nucleotide"]["seqId"] for c in ALL_CDS]
    assert [r["protein_id"] for r in rows] == [c["protein"]["seqId"] for c in ALL_CDS]
    assert {r["status"] for r in rows} == {"match"}
    assert [r["protein_length"] for r in rows] == [
        len(PROTEINS[c["protein"]["seqId"]]) for c in ALL_CDS]
    assert all(r["translated_length"] == r["protein_length"] for r in rows)
    assert all(r["cds_fna_agrees"] is True and r["cds_source"] == "genome" for r in rows)
    assert all(r["first_difference"] is None and r["genetic_code"] == 1 for r in rows)
    assert all(r["note"] is None for r in rows)
    # the spike CDS of MT745738.1 has NNN at codon 260, and the real protein has X there:
    spike = raw_cds("MT745738.1")[2]
    begin = int(spike["nucleotide"]["range"][0]["begin"])
    assert GENOMES["MT745738.1"][begin - 1 + 3 * 259:begin - 1 + 3 * 260] == "NNN"
    assert PROTEINS[spike["protein"]["seqId"]][259] == "X"
    assert rows[2]["status"] == "match"


def _edit_annotation(root: Path, accession: str, edit) -> None:
    path = root / DATA / "annotation_report.jsonl"
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    for line in lines:
        if line["accession"] == accession:
            edit(line)
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))


def test_orf1ab_read_without_the_frameshift_mismatches(tmp_path):
    root = extracted(tmp_path)

    def one_range(line):  # ORF1ab's joined range read as one: no ribosomal slippage
        ranges = line["genes"][0]["cds"][0]["nucleotide"]["range"]
        ranges[:] = [{"begin": ranges[0]["begin"], "end": ranges[1]["end"]}]

    _edit_annotation(root, "MT745738.1", one_range)
    row = check_translations(vpkg.open_package(root)).to_pylist()[0]
    raw = raw_cds("MT745738.1")[0]
    pp1ab = PROTEINS[raw["protein"]["seqId"]]
    r1, r2 = raw["nucleotide"]["range"]
    unshifted = str(Seq(GENOMES["MT745738.1"][int(r1["begin"]) - 1:int(r2["end"])][:21288])
                    .translate())
    first = next(i for i, (a, b) in enumerate(zip(unshifted, pp1ab, strict=False))
                 if a != b) + 1
    assert first == 4402  # the codon after the slippery site's repeated base (13456)
    assert row["status"] == "mismatch" and row["first_difference"] == first
    assert f"internal stop codon at {unshifted.index('*') + 1}" in row["note"]
    assert unshifted.index("*") + 1 == 4406  # the ORF1a stop, right after pp1a's 4405 aa
    assert row["cds_fna_agrees"] is False  # cds.fna still holds the joined sequence
    proc = subprocess.run([sys.executable, "-m", "vpkg", "check", str(root), "--strict"],
                          capture_output=True, text=True)
    assert proc.returncode == 1
    lines = proc.stdout.splitlines()
    assert lines[0] == "60 CDS: 59 match, 1 mismatch, 0 ambiguous, 0 no_protein, 0 no_genome"
    assert lines[2].startswith(f"mismatch\t{raw['nucleotide']['seqId']}\t"
                               f"{raw['protein']['seqId']}\tfirst difference at 4402")
    assert proc.stderr.count("\n") == 1 and "--strict" in proc.stderr
    proc = subprocess.run([sys.executable, "-m", "vpkg", "check", str(root)],
                          capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.splitlines() == lines


def test_ambiguous_base_no_protein_no_genome(tmp_path):
    root = extracted(tmp_path)
    acc = "MT969623.1"
    orf10 = raw_cds(acc)[-1]
    begin = int(orf10["nucleotide"]["range"][0]["begin"])
    genomes = {k: (raw_headers("genomic.fna")[k], v) for k, v in GENOMES.items()}
    seq = genomes[acc][1]
    seq = seq[:begin + 2] + "R" + seq[begin + 3:]  # codon 2 of ORF10
    starts = {}
    for cds, codon in ((raw_cds(acc)[-2], "CTG"), (raw_cds(acc)[-3], "ATA")):
        start = int(cds["nucleotide"]["range"][0]["begin"]) - 1
        assert seq[start:start + 3] == "ATG"
        seq = seq[:start] + codon + seq[start + 3:]
        starts[codon] = cds["nucleotide"]["seqId"]
    genomes[acc] = (genomes[acc][0], seq)
    del genomes["MT969997.1"]  # its CDS then come from cds.fna
    write_fasta(root / DATA / "genomic.fna", genomes)
    headers = raw_headers("protein.faa")
    gone = raw_cds("MT969939.1")[3]["protein"]["seqId"]
    write_fasta(root / DATA / "protein.faa",
                {k: (headers[k], v) for k, v in PROTEINS.items() if k != gone})
    rows = {r["cds_id"]: r for r in check_translations(vpkg.open_package(root)).to_pylist()}
    amb = rows[orf10["nucleotide"]["seqId"]]
    assert amb["status"] == "ambiguous" and amb["first_difference"] == 2
    assert amb["cds_fna_agrees"] is False  # cds.fna has the real base
    # CTG is an alternative start codon of the standard code (read as M), ATA is not
    alt = rows[starts["CTG"]]
    assert alt["status"] == "match" and alt["note"].startswith("alternative start codon CTG")
    assert (rows[starts["ATA"]]["status"], rows[starts["ATA"]]["first_difference"]) == (
        "mismatch", 1)
    assert rows[raw_cds("MT969939.1")[3]["nucleotide"]["seqId"]]["status"] == "no_protein"
    for cds in raw_cds("MT969997.1"):
        row = rows[cds["nucleotide"]["seqId"]]
        assert (row["status"], row["cds_source"], row["cds_fna_agrees"]) == (
            "match", "cds.fna", None)
    # without cds.fna either, those CDS have no sequence at all
    (root / DATA / "cds.fna").unlink()
    (root / DATA / "dataset_catalog.json").unlink()
    rows = check_translations(vpkg.open_package(root)).to_pylist()
    statuses = [r["status"] for r in rows if r["accession"] == "MT969997.1"]
    assert statuses == ["no_genome"] * len(raw_cds("MT969997.1"))


def test_genetic_code_of_the_lineage_and_by_parameter():
    # lineage head of a real Mitoviridae data report (corpus: Duamitovirus fupo4)
    lineage = [{"tax_id": 10239, "name": "Viruses"}, {"tax_id": 2559587, "name": "Riboviria"},
               {"tax_id": 2732892, "name": "Mitoviridae"}]
    assert lineage_genetic_code(lineage) == 4
    assert lineage_genetic_code([{"tax_id": 2559587, "name": "Riboviria"}]) == 1
    rows = check_translations(vpkg.open_package(ZIP), genetic_code=4).to_pylist()
    ends_tga = [GENOMES[acc][int(c["nucleotide"]["range"][-1]["end"]) - 3:
                             int(c["nucleotide"]["range"][-1]["end"])] == "TGA"
                for acc in ANNOTATION for c in raw_cds(acc)]
    assert any(ends_tga) and not all(ends_tga)
    # code 4 reads TGA as W: those CDS run on past their stop; the others still match
    assert [r["status"] == "mismatch" for r in rows] == ends_tga
    assert {r["genetic_code"] for r in rows} == {4}
    with pytest.raises(vpkg.ParameterError, match="genetic_code"):
        check_translations(vpkg.open_package(ZIP), genetic_code=99)


def test_cli_check_counts():
    proc = subprocess.run([sys.executable, "-m", "vpkg", "check", str(ZIP), "--strict"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        f"{len(ALL_CDS)} CDS: 60 match, 0 mismatch, 0 ambiguous, 0 no_protein, 0 no_genome",
        "cds.fna: 0 CDS differ from the genome at the annotation ranges"]


# ---- the dependency --------------------------------------------------------------------------


def test_import_vpkg_does_not_import_biopython():
    code = ("import sys, vpkg; pkg = vpkg.open_package(sys.argv[1]); pkg.table('annotations');"
            "import vpkg.cli; vpkg.cli.build_parser();"
            "print(sorted(m for m in sys.modules if m == 'Bio' or m.startswith('Bio.')))")
    proc = subprocess.run([sys.executable, "-c", code, str(ZIP)], capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "[]\n"


@pytest.mark.parametrize("argv", [["check", "{zip}"],
                                  ["export", "{zip}", "-o", "{out}", "--format", "genbank"]])
def test_missing_biopython_is_named_in_the_error(tmp_path, argv):
    code = ("import sys; sys.modules['Bio'] = None; from vpkg.cli import main; "
            "sys.exit(main(sys.argv[1:]))")
    args = [a.format(zip=ZIP, out=tmp_path / "out") for a in argv]
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True)
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert "needs Biopython" in proc.stderr and "pip install 'vpkg[bio]'" in proc.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("module", ["vpkg.bio", "vpkg.sinks.genbank"])
def test_docstring_examples_run(module, monkeypatch):
    import doctest
    import importlib

    monkeypatch.chdir(Path(__file__).resolve().parent.parent)
    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0 and result.failed == 0


def test_docs_page_examples_run(monkeypatch):
    root = Path(__file__).resolve().parent.parent
    page = (root / "docs" / "biopython.md").read_text()
    blocks = [b.split("```", 1)[0] for b in page.split("```python\n")[1:]]
    assert len(blocks) == 3
    monkeypatch.chdir(root)
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, "docs/biopython.md", "exec"), namespace)
    assert namespace["result"].num_rows == len(ALL_CDS)


def test_minus_strand_ranges_read_the_reverse_complement(tmp_path):
    """The real genomes reverse-complemented, every range mapped and marked ``minus``
    (joined ranges kept in reading order): each CDS must still give its raw protein."""
    root = extracted(tmp_path)
    lengths = {acc: len(seq) for acc, seq in GENOMES.items()}
    headers = raw_headers("genomic.fna")
    write_fasta(root / DATA / "genomic.fna",
                {acc: (headers[acc], str(Seq(seq).reverse_complement()))
                 for acc, seq in GENOMES.items()})

    def flip(ranges, length, orientation=True):
        for r in ranges:
            begin, end = int(r["begin"]), int(r["end"])
            r["begin"], r["end"] = str(length - end + 1), str(length - begin + 1)
            if orientation:
                r["orientation"] = "minus"

    for acc in ANNOTATION:
        def edit(line, length=lengths[acc]):
            for gene in line["genes"]:
                flip(gene["nucleotide"]["range"], length)
                for cds in gene.get("cds", []):
                    flip(cds["nucleotide"]["range"], length)
                    for mp in cds.get("maturePeptide", []):
                        # no orientation, as in the real V1 peptides: the CDS's strand
                        flip(mp["nucleotide"]["range"], length, orientation=False)
        _edit_annotation(root, acc, edit)
    pkg = vpkg.open_package(root)
    rows = check_translations(pkg).to_pylist()
    assert [r["status"] for r in rows] == ["match"] * len(ALL_CDS)
    assert all(r["cds_fna_agrees"] is True for r in rows)  # cds.fna is the real, unflipped file
    done = export_genbank(pkg, tmp_path / "out", tables=["genome_sequences"])
    for rec in SeqIO.parse(done[0].path, "genbank"):
        cds = [f for f in rec.features if f.type == "CDS"]
        assert [translate(str(f.location.extract(rec.seq))) for f in cds] == [
            PROTEINS[c["protein"]["seqId"]] for c in raw_cds(rec.id)]
        assert {f.location.strand for f in cds} == {-1}
        assert isinstance(cds[0].location, CompoundLocation)
        peptides = [f for f in rec.features if f.type == "mat_peptide"]
        assert {f.location.strand for f in peptides} == {-1}


def test_check_without_an_annotation_report_names_the_member():
    zip_path = CONSTRUCTED / "sars-cov-2_no_catalog.constructed.zip"
    proc = subprocess.run([sys.executable, "-m", "vpkg", "check", str(zip_path)],
                          capture_output=True, text=True)
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1 and "annotation_report.jsonl" in proc.stderr


def test_a_range_beyond_the_genome_is_named(tmp_path):
    root = extracted(tmp_path)
    acc = "MT969961.1"
    length = len(GENOMES[acc])

    def stretch(line):  # the last CDS (ORF10) made to run 5 bases past the genome's end
        line["genes"][-1]["cds"][-1]["nucleotide"]["range"][-1]["end"] = str(length + 5)

    _edit_annotation(root, acc, stretch)
    rows = [r for r in check_translations(vpkg.open_package(root)).to_pylist()
            if r["accession"] == acc]
    assert rows[-1]["status"] == "mismatch"
    assert rows[-1]["note"].startswith(
        f"the ranges reach {length + 5}, beyond the genome's {length} bases")
    assert [r["status"] for r in rows[:-1]] == ["match"] * (len(raw_cds(acc)) - 1)


def test_a_failing_export_leaves_no_file(tmp_path):
    root = extracted(tmp_path)
    (root / DATA / "protein.faa").write_text("not a FASTA record\n")
    out = tmp_path / "out"
    tables = ["cds_sequences", "protein_sequences"]  # the first is written, the second fails
    with pytest.raises(vpkg.VpkgError, match="protein.faa"):
        export_genbank(vpkg.open_package(root), out, tables=tables)
    assert not out.exists()
    out.mkdir()
    (out / "cds_sequences.gb").write_text("earlier\n")
    with pytest.raises(vpkg.VpkgError):
        export_genbank(vpkg.open_package(root), out, tables=tables)
    assert [p.name for p in out.iterdir()] == ["cds_sequences.gb"]
    assert (out / "cds_sequences.gb").read_text() == "earlier\n"


class _Stream:
    """Any object with ``__arrow_c_stream__`` (as `pkg.source(table)` will be)."""

    def __init__(self, pkg, table):
        self.pkg, self.table = pkg, table

    def __arrow_c_stream__(self, requested_schema=None):
        return self.pkg.reader(self.table).__arrow_c_stream__(requested_schema)


def test_write_genbank_takes_any_arrow_stream(tmp_path):
    n = write_genbank(_Stream(vpkg.open_package(ZIP), "cds_sequences"), tmp_path / "c.gb")
    assert n == len(CDS_FNA)
    assert {r.id: str(r.seq) for r in SeqIO.parse(tmp_path / "c.gb", "genbank")} == CDS_FNA
    root = extracted(tmp_path)
    (root / DATA / "protein.faa").write_text("not a FASTA record\n")
    with pytest.raises(vpkg.VpkgError) as info:
        write_genbank(_Stream(vpkg.open_package(root), "protein_sequences"), tmp_path / "p.gb")
    assert "protein.faa line 1" in str(info.value) and "\n" not in str(info.value)
    assert not (tmp_path / "p.gb").exists()
