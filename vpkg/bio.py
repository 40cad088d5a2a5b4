"""Biopython views of a package: annotated ``SeqRecord``s, GenBank export, a translation check.

`seqrecords` yields one ``Bio.SeqRecord.SeqRecord`` per sequence row. Genomes carry their
report metadata the GenBank way (``annotations`` and a ``source`` feature) and one ``gene``,
``CDS`` and ``mat_peptide`` feature per entry of ``annotation_report.jsonl``; a joined CDS range
(ORF1ab's ribosomal -1 frameshift) is one ``CompoundLocation``. `check_translations`
translates every CDS and compares it with its protein in ``protein.faa``. `export_genbank`
writes one ``.gb`` file per sequence table.

Tables are read through the package's public API only. Genome sequences stream; the reports,
and the protein sequences of the CDS, are held in memory (they are small beside the genomes).
Biopython is an optional dependency: ``pip install 'vpkg[bio]'``.

>>> import vpkg
>>> pkg = vpkg.open_package("fixtures/constructed/sars-cov-2_all_members.constructed.zip")
>>> rec = next(pkg.seqrecords())
>>> rec.id, rec.annotations["organism"], sum(f.type == "CDS" for f in rec.features)
('MT745738.1', 'Severe acute respiratory syndrome coronavirus 2', 12)
>>> orf1ab = next(f for f in rec.features if f.type == "CDS")
>>> str(orf1ab.location)
'join{[253:13456](+), [13455:21543](+)}'
>>> str(orf1ab.location.extract(rec.seq).translate()).rstrip("*") == orf1ab.qualifiers[
...     "translation"][0]
True
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa

from vpkg.errors import ParameterError, VpkgError
from vpkg.sinks.genbank import SEQUENCE_BATCH, records_from_stream, require_biopython

if TYPE_CHECKING:  # pragma: no cover
    from Bio.SeqFeature import SeqFeature
    from Bio.SeqRecord import SeqRecord

    from vpkg.package import Package
    from vpkg.sinks.parquet import Exported

#: The tables that have sequences, with the ``molecule_type`` of their records when it is
#: fixed (genomes take theirs from the report).
SEQUENCE_TABLES = {"genome_sequences": None, "cds_sequences": "DNA",
                   "protein_sequences": "protein"}

#: Genetic codes other than the standard one (NCBI table 1), by virus lineage taxon. The
#: annotation report carries no genetic code. Mitoviruses replicate in (fungal) mitochondria
#: and read UGA as tryptophan; their GenBank CDS use /transl_table=4 (tax id 2732892 as in the
#: real data reports' lineages).
GENETIC_CODES = {2732892: 4}  # Mitoviridae

#: Molecule type by lineage taxon, for reports without ``molType`` (every real v2 report).
#: The DNA taxa are looked for first: Hepadnaviridae and Caulimoviridae are DNA viruses inside
#: the RNA realm Riboviria (kingdom Pararnavirae, reverse-transcribing). Tax ids as in the
#: real data reports' lineages.
DNA_TAXA = {2731341, 2731342, 2732004, 10404, 186534}  # Duplodnaviria, Monodnaviria,
#                                   Varidnaviria, Hepadnaviridae, Caulimoviridae
RNA_TAXA = {2559587, 2842242, 1250315, 185751}  # Riboviria, Ribozyviria, RNA satellites,
#                                                 Pospiviroidae

#: The columns of the `check_translations` table.
CHECK_SCHEMA = pa.schema([
    pa.field("accession", pa.string(), nullable=False),
    pa.field("cds_id", pa.string()),
    pa.field("gene", pa.string()),
    pa.field("protein_accession", pa.string()),
    pa.field("protein_id", pa.string()),
    pa.field("status", pa.string(), nullable=False),
    pa.field("first_difference", pa.int64()),
    pa.field("translated_length", pa.int64()),
    pa.field("protein_length", pa.int64()),
    pa.field("genetic_code", pa.int32()),
    pa.field("cds_source", pa.string()),
    pa.field("cds_fna_agrees", pa.bool_()),
    pa.field("note", pa.string()),
])
STATUSES = ("match", "mismatch", "ambiguous", "no_protein", "no_genome")

_GENOME_COLUMNS = ["accession", "virus_name", "virus_tax_id", "virus_lineage", "host_name",
                   "geo_location", "collection_date", "isolate_name", "isolate_source",
                   "segment", "lab_host", "update_date", "bioprojects", "biosample",
                   "sra_accessions", "extra"]
_ANNOTATION_COLUMNS = ["accession", "gene_index", "gene_name", "gene_ranges", "cds_index",
                       "protein_accession", "protein_name", "cds_id", "protein_id",
                       "cds_ranges", "mature_peptides"]


# ---- SeqRecords ------------------------------------------------------------------------------


def seqrecords(
    pkg: Package, table: str = "genome_sequences", *, translations: bool = True
) -> Iterator[SeqRecord]:
    """One ``SeqRecord`` per row of a sequence table, in file order, streaming.

    Parameters
    ----------
    pkg
        An open package.
    table
        ``genome_sequences`` (default), ``cds_sequences`` or ``protein_sequences``.
    translations
        Give each genome ``CDS`` feature its ``/translation`` from ``protein.faa`` (when the
        package has it).

    Returns
    -------
    Iterator[SeqRecord]
        For genomes: ``id`` is the accession; ``annotations`` hold ``molecule_type``,
        ``organism``, ``taxonomy``, ``accessions``, ``sequence_version``, ``date`` (the update
        date) and ``dbxrefs`` the BioProject, BioSample and SRA links; a ``source`` feature has
        ``/organism``, ``/mol_type``, ``/isolate``, ``/host``, ``/db_xref="taxon:…"``,
        ``/country`` (``geo_location``), ``/collection_date``, ``/segment``,
        ``/isolation_source`` and ``/lab_host`` when known; then per gene of the annotation
        report a ``gene`` feature, and per CDS a ``CDS`` feature (``/gene``, ``/product``,
        ``/protein_id``, ``/codon_start``, ``/transl_table`` when not 1,
        ``/ribosomal_slippage`` on a CDS whose ranges say so, ``/translation``) followed by
        its ``mat_peptide`` features. For CDS and protein rows: see
        `vpkg.sinks.genbank.records_from_stream`.

    Examples
    --------
    >>> import vpkg
    >>> pkg = vpkg.open_package("fixtures/constructed/sars-cov-2_all_members.constructed.zip")
    >>> rec = next(pkg.seqrecords("protein_sequences"))
    >>> rec.id, rec.annotations["molecule_type"], len(rec)
    ('QLG76863.1:1-180', 'protein', 180)
    """
    require_biopython("pkg.seqrecords()")
    if table not in SEQUENCE_TABLES:
        raise ParameterError(
            f"table {table!r} has no sequences; give one of {', '.join(SEQUENCE_TABLES)}",
            parameter="table",
        )
    pkg.member_for(table)  # raises now when the package lacks it
    if table != "genome_sequences":
        return records_from_stream(pkg.reader(table, batch_size=SEQUENCE_BATCH),
                                   SEQUENCE_TABLES[table])
    return _genome_records(pkg, translations)


def _genome_records(pkg: Package, translations: bool) -> Iterator[SeqRecord]:
    reports = _genome_reports(pkg)
    cds_rows = _annotation_rows(pkg)
    wanted = {r["protein_id"] for rows in cds_rows.values() for r in rows if r["protein_id"]}
    proteins = _proteins(pkg, wanted) if translations else {}
    for record in records_from_stream(pkg.reader("genome_sequences", batch_size=SEQUENCE_BATCH)):
        report = reports.get(record.id)
        code = lineage_genetic_code(report and report["virus_lineage"])
        if report:
            _annotate(record, report)
        record.features.extend(_features(cds_rows.get(record.id, ()), proteins, code))
        yield record


def _annotate(record: SeqRecord, report: dict) -> None:
    """The data report's values as GenBank annotations and a ``source`` feature."""
    from Bio.SeqFeature import SeqFeature, SimpleLocation

    ann = record.annotations
    ann["molecule_type"] = molecule_type(report)
    accession, _, version = record.id.partition(".")
    ann["accessions"] = [accession]
    if version.isdigit():
        ann["sequence_version"] = int(version)
    if report["virus_name"]:
        ann["organism"] = ann["source"] = report["virus_name"]
    names = [t["name"] for t in report["virus_lineage"] or [] if t.get("name")]
    if names and names[-1] == report["virus_name"]:
        names = names[:-1]  # GenBank's taxonomy lists the lineage above the organism
    ann["taxonomy"] = names
    if report["update_date"]:
        ann["date"] = report["update_date"].strftime("%d-%b-%Y").upper()
    record.dbxrefs = (
        [f"BioProject:{b}" for b in report["bioprojects"] or []]
        + ([f"BioSample:{report['biosample']}"] if report["biosample"] else [])
        + [f"Sequence Read Archive:{s}" for s in report["sra_accessions"] or []]
    )
    mol = ann["molecule_type"]
    qualifiers = {
        "organism": report["virus_name"],
        "mol_type": f"genomic {'RNA' if 'RNA' in mol else 'DNA'}" if mol else None,
        "isolate": report["isolate_name"],
        "isolation_source": report["isolate_source"],
        "host": report["host_name"],
        "lab_host": report["lab_host"],
        "db_xref": f"taxon:{report['virus_tax_id']}" if report["virus_tax_id"] else None,
        "segment": report["segment"],
        "country": report["geo_location"],
        "collection_date": report["collection_date"],
    }
    source = SeqFeature(SimpleLocation(0, len(record), strand=1), type="source",
                        qualifiers={k: [v] for k, v in qualifiers.items() if v})
    record.features.insert(0, source)


def _features(rows: Iterable[dict], proteins: dict[str, str], code: int) -> list[SeqFeature]:
    from Bio.SeqFeature import SeqFeature

    features = []
    genes_done = set()
    for row in rows:
        gene = row["gene_name"]
        if row["gene_index"] not in genes_done and row["gene_ranges"]:
            genes_done.add(row["gene_index"])
            qualifiers = {"gene": [gene]} if gene else {}
            features.append(SeqFeature(location(row["gene_ranges"]), type="gene",
                                       qualifiers=qualifiers))
        if row["cds_index"] is None or not row["cds_ranges"]:
            continue
        cds_location = location(row["cds_ranges"])
        qualifiers: dict[str, list] = {}
        if gene:
            qualifiers["gene"] = [gene]
        if any(r.get("ribosomal_slippage") for r in row["cds_ranges"]):
            qualifiers["ribosomal_slippage"] = [None]  # a flag qualifier: /ribosomal_slippage
        qualifiers["codon_start"] = ["1"]
        if code != 1:
            qualifiers["transl_table"] = [str(code)]
        if row["protein_name"]:
            qualifiers["product"] = [row["protein_name"]]
        accession = row["protein_accession"] or (row["protein_id"] or "").split(":")[0]
        if accession:
            qualifiers["protein_id"] = [accession]
        if row["protein_id"] in proteins:
            qualifiers["translation"] = [proteins[row["protein_id"]]]
        features.append(SeqFeature(cds_location, type="CDS", qualifiers=qualifiers))
        strand = cds_location.strand or 1
        for peptide in row["mature_peptides"] or []:
            if not peptide["nucleotide_ranges"]:
                continue
            qualifiers = {"gene": [gene]} if gene else {}
            if peptide["name"]:
                qualifiers["product"] = [peptide["name"]]
            if peptide["accession"]:
                qualifiers["protein_id"] = [peptide["accession"]]
            features.append(SeqFeature(location(peptide["nucleotide_ranges"], strand),
                                       type="mat_peptide", qualifiers=qualifiers))
    return features


def location(ranges: list[dict], default_strand: int = 1):
    """A Biopython location of report ranges (1-based, inclusive), in the report's order.

    One range gives a ``SimpleLocation``, several a ``CompoundLocation`` (a join) whose parts
    keep the report's order, so that ``extract`` concatenates them as the CDS is read. The
    strand comes from each range's ``orientation`` (``plus``/``minus``), else from the other
    ranges, else ``default_strand``.

    >>> str(location([{"begin": 266, "end": 13468}, {"begin": 13468, "end": 21555}]))
    'join{[265:13468](+), [13467:21555](+)}'
    """
    from Bio.SeqFeature import CompoundLocation, SimpleLocation

    strands = {"plus": 1, "minus": -1}
    known = [strands[r["orientation"]] for r in ranges if r.get("orientation") in strands]
    fallback = known[0] if known else default_strand
    parts = []
    for r in ranges:
        begin, end = sorted((int(r["begin"]), int(r["end"])))
        parts.append(SimpleLocation(begin - 1, end, strand=strands.get(r.get("orientation"),
                                                                       fallback)))
    return parts[0] if len(parts) == 1 else CompoundLocation(parts, operator="join")


def lineage_genetic_code(lineage: list[dict] | None) -> int:
    """The NCBI genetic code of a virus lineage: 4 for mitoviruses, else 1 (standard).

    >>> lineage_genetic_code([{"tax_id": 2559587, "name": "Riboviria"},
    ...               {"tax_id": 2732892, "name": "Mitoviridae"}])
    4
    """
    for taxon in lineage or []:
        if taxon.get("tax_id") in GENETIC_CODES:
            return GENETIC_CODES[taxon["tax_id"]]
    return 1


def molecule_type(report: dict) -> str:
    """GenBank molecule type of a genome: from V1 ``molType`` (``ssRNA(+)`` -> ``ss-RNA``),
    else ``RNA``/``DNA`` from the virus lineage, else ``DNA`` (the letters of genomic.fna)."""
    mol = None
    if report.get("extra"):
        try:
            mol = json.loads(report["extra"]).get("molType")
        except (ValueError, AttributeError):
            mol = None
    if isinstance(mol, str) and ("RNA" in mol or "DNA" in mol):
        kind = "RNA" if "RNA" in mol else "DNA"
        strand = mol[:2] + "-" if mol[:2] in ("ss", "ds") else ""
        return strand + kind
    taxa = {t.get("tax_id") for t in report.get("virus_lineage") or []}
    if taxa & DNA_TAXA:
        return "DNA"
    if taxa & RNA_TAXA:
        return "RNA"
    return "DNA"


# ---- table lookups ---------------------------------------------------------------------------


def _genome_reports(pkg: Package) -> dict[str, dict]:
    if "genomes" not in pkg.tables():
        return {}
    rows = pkg.table("genomes").select(_GENOME_COLUMNS).to_pylist()
    return {r["accession"]: r for r in rows}


def _annotation_rows(pkg: Package) -> dict[str, list[dict]]:
    """Annotation rows by genome accession, in file order."""
    if "annotations" not in pkg.tables():
        return {}
    out: dict[str, list[dict]] = {}
    for index, row in enumerate(pkg.table("annotations").select(_ANNOTATION_COLUMNS).to_pylist()):
        row["row"] = index
        out.setdefault(row["accession"], []).append(row)
    return out


def _proteins(pkg: Package, wanted: set[str]) -> dict[str, str]:
    """Sequences of the protein records whose id is in ``wanted``."""
    if "protein_sequences" not in pkg.tables() or not wanted:
        return {}
    out = {}
    for batch in pkg.reader("protein_sequences", batch_size=SEQUENCE_BATCH):
        ids = batch.column("id").to_pylist()
        sequences = batch.column("sequence")
        for i, pid in enumerate(ids):
            if pid in wanted:
                out[pid] = sequences[i].as_py()
    return out


# ---- translation check -----------------------------------------------------------------------


@dataclass
class _Check:
    row: dict
    code: int
    result: dict = field(default_factory=dict)
    genome_md5: str | None = None


def check_translations(pkg: Package, *, genetic_code: int | None = None) -> pa.Table:
    """Translate every CDS of the annotation report and compare it with its protein.

    The CDS sequence is cut from the genome (``genomic.fna``) at the annotation ranges, in
    their order (a joined range is read as one sequence); without the genome it is taken from
    ``cds.fna``. When both are present they must agree (``cds_fna_agrees``). It is translated
    with Biopython (``Seq.translate(table=code, cds=False)``); one terminal stop is removed,
    and a first codon that is an alternative start codon of the table counts as ``M``.

    Parameters
    ----------
    pkg
        An open package with ``annotation_report.jsonl``.
    genetic_code
        The NCBI genetic code for every CDS (default: per genome, from its virus lineage,
        see `GENETIC_CODES`; 1 when the package has no data report).

    Returns
    -------
    pyarrow.Table
        One row per CDS, in annotation-report order, with the columns of `CHECK_SCHEMA`:
        ``status`` is ``match``; ``mismatch``; ``ambiguous`` (the only differences are at
        codons holding an ambiguous base such as N or R); ``no_protein`` (``protein.faa``
        lacks the protein, or the package has no ``protein.faa``); ``no_genome`` (neither the
        genome nor a ``cds.fna`` record). ``first_difference`` is the first differing amino
        acid position (1-based; null on a match), the lengths exclude the terminal stop, and
        ``note`` says what differs.

    Examples
    --------
    >>> import vpkg
    >>> pkg = vpkg.open_package("fixtures/constructed/sars-cov-2_all_members.constructed.zip")
    >>> result = pkg.check_translations()
    >>> result.num_rows, result.column("status").value_counts().to_pylist()
    (60, [{'values': 'match', 'counts': 60}])
    """
    require_biopython("the translation check")
    if genetic_code is not None:
        _check_code(genetic_code)
    pkg.member_for("annotations")
    reports = _genome_reports(pkg)
    checks: list[_Check] = []
    by_genome: dict[str, list[_Check]] = {}
    for accession, rows in _annotation_rows(pkg).items():
        report = reports.get(accession)
        code = genetic_code or lineage_genetic_code(report and report["virus_lineage"])
        for row in rows:
            if row["cds_index"] is None:
                continue  # a gene without CDS
            check = _Check(row, code)
            checks.append(check)
            by_genome.setdefault(accession, []).append(check)
    wanted = {c.row["protein_id"] for c in checks if c.row["protein_id"]}
    proteins = _Proteins(_proteins(pkg, wanted), "protein_sequences" in pkg.tables())
    if "genome_sequences" in pkg.tables():
        _check_genomes(pkg, by_genome, proteins)
    if "cds_sequences" in pkg.tables():
        _check_cds_fna(pkg, {c.row["cds_id"]: c for c in checks if c.row["cds_id"]}, proteins)
    return pa.Table.from_pylist([_row(c) for c in checks], schema=CHECK_SCHEMA)


@dataclass(frozen=True)
class _Proteins:
    by_id: dict[str, str]
    present: bool  # whether the package has protein.faa at all


def _check_genomes(pkg: Package, by_genome: dict[str, list[_Check]], proteins: _Proteins):
    """Cut each CDS from its genome as the genomes stream past, and compare it."""
    for batch in pkg.reader("genome_sequences", batch_size=SEQUENCE_BATCH):
        accessions = batch.column("accession").to_pylist()
        sequences = batch.column("sequence")
        for i, accession in enumerate(accessions):
            if accession not in by_genome:
                continue
            genome = sequences[i].as_py() or ""
            for check in by_genome[accession]:
                ranges = check.row["cds_ranges"]
                if not ranges:
                    continue  # nothing to cut: cds.fna may still have the sequence
                nt = _cut(genome, ranges)
                check.genome_md5 = _md5(nt)
                check.result = _compare(nt, proteins, check, "genome")
                beyond = max(max(r["begin"], r["end"]) for r in ranges)
                if beyond > len(genome):
                    check.result["note"] = _join(
                        f"the ranges reach {beyond}, beyond the genome's {len(genome)} bases",
                        check.result["note"])


def _check_cds_fna(pkg: Package, by_cds_id: dict[str, _Check], proteins: _Proteins):
    """Compare cds.fna with the genome cut, or translate it for a CDS without a genome."""
    for batch in pkg.reader("cds_sequences", batch_size=SEQUENCE_BATCH):
        ids = batch.column("id").to_pylist()
        sequences = batch.column("sequence")
        for i, cds_id in enumerate(ids):
            check = by_cds_id.get(cds_id)
            if check is None:
                continue
            nt = sequences[i].as_py() or ""
            if not check.result:
                check.result = _compare(nt, proteins, check, "cds.fna")
                continue
            agrees = _md5(nt) == check.genome_md5
            check.result["cds_fna_agrees"] = agrees
            if not agrees:
                check.result["note"] = _join(check.result["note"], "cds.fna differs from the "
                                             "genome at the annotation ranges")


def _check_code(code: int) -> None:
    from Bio.Data import CodonTable

    if code not in CodonTable.unambiguous_dna_by_id:
        raise ParameterError(
            f"genetic_code {code!r} is not an NCBI genetic code; give one of "
            f"{', '.join(map(str, sorted(CodonTable.unambiguous_dna_by_id)))}",
            parameter="genetic_code",
        )


def _row(check: _Check) -> dict:
    row = check.row
    base = {
        "accession": row["accession"], "cds_id": row["cds_id"], "gene": row["gene_name"],
        "protein_accession": row["protein_accession"], "protein_id": row["protein_id"],
        "genetic_code": check.code,
    }
    if not check.result:
        why = ("the annotation gives no ranges" if not row["cds_ranges"]
               else "neither genomic.fna nor cds.fna holds this CDS's sequence")
        base.update(status="no_genome", note=why)
        return base
    return {**base, **check.result}


def _cut(genome: str, ranges: list[dict]) -> str:
    """The CDS letters at the report ranges, through the same location the features use."""
    return str(location(ranges).extract(genome))


def _md5(text: str) -> str:
    return hashlib.md5(text.upper().encode("ascii", "replace")).hexdigest()


def _join(*notes: str | None) -> str | None:
    return "; ".join(n for n in notes if n) or None


def _compare(nt: str, proteins: _Proteins, check: _Check, source: str) -> dict:
    from Bio.Data import CodonTable
    from Bio.Seq import Seq

    nt = nt.upper()
    usable = len(nt) - len(nt) % 3
    notes = []
    if usable != len(nt):
        notes.append(f"CDS length {len(nt)} is not a multiple of 3")
    aa = str(Seq(nt[:usable]).translate(table=check.code, cds=False))
    if aa.endswith("*"):
        aa = aa[:-1]
    else:
        notes.append("no terminal stop codon")
    result = {"cds_source": source, "translated_length": len(aa)}
    protein = proteins.by_id.get(check.row["protein_id"])
    if protein is None:
        what = "protein.faa lacks" if proteins.present else "the package has no protein.faa for"
        return {**result, "status": "no_protein",
                "note": _join(f"{what} {check.row['protein_id']}", *notes)}
    result["protein_length"] = len(protein)
    protein = protein.upper()
    starts = CodonTable.unambiguous_dna_by_id[check.code].start_codons
    if aa and protein.startswith("M") and aa[0] != "M" and nt[:3] in starts:
        notes.append(f"alternative start codon {nt[:3]} read as M")
        aa = "M" + aa[1:]
    diffs = [i for i, (a, b) in enumerate(zip(aa, protein, strict=False)) if a != b]
    if not diffs and len(aa) == len(protein):
        return {**result, "status": "match", "note": _join(*notes)}
    first = diffs[0] + 1 if diffs else min(len(aa), len(protein)) + 1
    ambiguous = [i for i in diffs if set(nt[3 * i:3 * i + 3]) - set("ACGT")]
    if len(aa) == len(protein) and len(ambiguous) == len(diffs):
        codons = ", ".join(f"{i + 1} ({nt[3 * i:3 * i + 3]})" for i in ambiguous[:5])
        return {**result, "status": "ambiguous", "first_difference": first,
                "note": _join(f"differs only at codons with ambiguous bases: {codons}", *notes)}
    stops = [i + 1 for i, a in enumerate(aa) if a == "*"]
    if stops:
        notes.insert(0, f"internal stop codon at {stops[0]}")
    if len(aa) != len(protein):
        notes.insert(0, f"translation has {len(aa)} aa, the protein {len(protein)}")
    notes.insert(0, f"first difference at {first}: translation "
                    f"{aa[first - 1:first + 4] or '(end)'}, protein "
                    f"{protein[first - 1:first + 4] or '(end)'}")
    return {**result, "status": "mismatch", "first_difference": first, "note": _join(*notes)}


# ---- GenBank export --------------------------------------------------------------------------


def export_genbank(
    pkg: Package, outdir: str | os.PathLike, *, tables: Iterable[str] | None = None
) -> list[Exported]:
    """Write ``<outdir>/<table>.gb`` for every sequence table (or the ``tables`` given).

    Each file is written through ``Bio.SeqIO`` as `seqrecords` streams it, into a hidden
    temporary folder inside ``outdir``; the files are renamed into place when all of them are
    complete, so a failure leaves no new file (and earlier files as they were).

    Examples
    --------
    >>> import tempfile, vpkg
    >>> pkg = vpkg.open_package("fixtures/constructed/sars-cov-2_all_members.constructed.zip")
    >>> [(d.path.name, d.rows) for d in export_genbank(pkg, tempfile.mkdtemp())]
    [('genome_sequences.gb', 5), ('cds_sequences.gb', 60), ('protein_sequences.gb', 190)]
    """
    from vpkg.sinks.genbank import write_genbank
    from vpkg.sinks.parquet import Exported

    require_biopython("the GenBank export")
    chosen = [t for t in pkg.tables() if t in SEQUENCE_TABLES] if tables is None else list(tables)
    for table in chosen:
        if table not in SEQUENCE_TABLES:
            raise ParameterError(
                f"table {table!r} has no sequences to write as GenBank; give some of "
                f"{', '.join(SEQUENCE_TABLES)}", parameter="tables")
        pkg.member_for(table)
    if not chosen:
        raise VpkgError(f"{pkg.path}: the package has no sequence table "
                        f"({', '.join(SEQUENCE_TABLES)}) to write as GenBank")
    out = Path(outdir)
    if out.exists() and not out.is_dir():
        raise ParameterError(f"{out}: exists and is not a folder; give a folder for the output",
                             parameter="outdir")
    created = not out.exists()
    try:
        out.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".vpkg-genbank-", dir=out))
    except OSError as exc:
        raise VpkgError(f"{out}: cannot create the output folder ({exc.strerror or exc})") from exc
    try:
        done = []
        for table in chosen:  # all files staged first, so a failure leaves none of them
            rows = write_genbank(seqrecords(pkg, table), staging / f"{table}.gb")
            done.append(Exported(table, out / f"{table}.gb", rows))
        for item in done:
            os.replace(staging / item.path.name, item.path)
        return done
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if created and not any(out.iterdir()):
            out.rmdir()
