"""``annotations`` and ``biosamples`` against the JSON they come from.

Annotations are rebuilt into JSON from the rows (the mapping below is written from
../shared/ncbi/schemas.md, independently of vpkg) and must equal every original line.
"""

from __future__ import annotations

import datetime as dt
import json
from itertools import groupby

import pytest
from conftest import CONSTRUCTED, SAMPLES, build_dir, leaves, zip_members

import vpkg

ALL = CONSTRUCTED / "sars-cov-2_all_members.constructed.zip"
DATA = "ncbi_dataset/data/"


def lines(raw: bytes) -> list[dict]:
    return [json.loads(line) for line in raw.decode().splitlines() if line.strip()]


def clean(obj):
    """Drop None and empty containers, as protobuf JSON omits them."""
    if isinstance(obj, dict):
        out = {k: clean(v) for k, v in obj.items()}
        return {k: v for k, v in out.items() if v not in (None, {}, [])}
    if isinstance(obj, list):
        return [clean(v) for v in obj]
    return obj


def merge(base, extra):
    """Deep-merge the ``extra`` leftovers back into a rebuilt object."""
    if isinstance(base, dict) and isinstance(extra, dict):
        out = dict(base)
        for key, value in extra.items():
            out[key] = merge(out[key], value) if key in out else value
        return out
    if isinstance(base, list) and isinstance(extra, list):
        return [merge(b, e) for b, e in zip(base, extra, strict=True)]
    return extra


def json_range(r: dict) -> dict:
    return {"begin": str(r["begin"]), "end": str(r["end"]), "orientation": r["orientation"],
            "order": r["order"], "ribosomalSlippage": r["ribosomal_slippage"]}


def ranges(rs):
    return [json_range(r) for r in rs] if rs is not None else None


def rebuild(rows: list[dict]) -> dict:
    """One annotation_report line rebuilt from its rows."""
    first = rows[0]
    record = {"accession": first["accession"], "isolateName": first["isolate_name"]}
    genes, extra_record = [], {}
    for _, gene_rows in groupby(rows, key=lambda r: r["gene_index"]):
        gene_rows = list(gene_rows)
        g = gene_rows[0]
        gene = {"name": g["gene_name"], "geneId": g["gene_id"],
                "nucleotide": {"range": ranges(g["gene_ranges"])}}
        extras = [json.loads(r["extra"]) if r["extra"] else {} for r in gene_rows]
        extra_record = extras[0].get("record", {})
        gene = merge(clean(gene), extras[0].get("gene", {}))
        cds_list = []
        for r, extra in zip(gene_rows, extras, strict=True):
            if r["cds_index"] is None:
                continue
            cds = {
                "accession": r["protein_accession"], "name": r["protein_name"],
                "otherNames": r["other_names"], "proteinCompleteness": r["protein_completeness"],
                "nucleotide": {"seqId": r["cds_id"], "range": ranges(r["cds_ranges"])},
                "protein": {"seqId": r["protein_id"], "range": ranges(r["protein_ranges"])},
                "pdbIds": r["pdb_ids"],
                "uniProtKb": {"id": r["uniprot_id"], "name": r["uniprot_name"]},
                "cdd": [{"accession": d["accession"], "name": d["name"],
                         "range": json_range(d["range"]) if d["range"] else None}
                        for d in r["conserved_domains"] or []],
                "maturePeptide": [
                    {"accession": p["accession"], "name": p["name"],
                     "otherNames": p["other_names"], "proteinCompleteness": p["completeness"],
                     "nucleotide": {"range": ranges(p["nucleotide_ranges"])},
                     "protein": {"accessionVersion": p["protein_accession"],
                                 "seqId": p["protein_id"],
                                 "range": ranges(p["protein_ranges"])}}
                    for p in r["mature_peptides"] or []
                ],
            }
            cds_list.append(merge(clean(cds), extra.get("cds", {})))
        if cds_list:
            gene["cds"] = cds_list
        genes.append(gene)
    return merge(clean(dict(record, genes=genes)), extra_record)


def test_annotation_rows_rebuild_every_line_exactly():
    originals = lines(zip_members(ALL)[DATA + "annotation_report.jsonl"])
    table = vpkg.open_package(ALL).table("annotations")
    rows = table.to_pylist()
    assert table.num_rows == sum(len(g.get("cds", [])) or 1 for o in originals
                                 for g in o["genes"])
    by_record = [list(g) for _, g in groupby(rows, key=lambda r: r["accession"])]
    assert len(by_record) == len(originals)
    for record_rows, original in zip(by_record, originals, strict=True):
        assert rebuild(record_rows) == original


def test_annotation_chosen_values():
    originals = lines(zip_members(ALL)[DATA + "annotation_report.jsonl"])
    rows = vpkg.open_package(ALL).table("annotations").to_pylist()
    cds = originals[0]["genes"][0]["cds"][0]
    row = rows[0]
    assert row["accession"] == originals[0]["accession"] == "MT745738.1"
    assert row["gene_name"] == originals[0]["genes"][0]["name"]
    assert row["protein_accession"] == cds["accession"]
    assert row["cds_begin"] == int(cds["nucleotide"]["range"][0]["begin"])
    assert row["cds_end"] == int(cds["nucleotide"]["range"][-1]["end"])
    assert len(row["mature_peptides"]) == len(cds["maturePeptide"])
    # every field of the schema is exercised by one constructed record
    assert any(r["pdb_ids"] for r in rows) and any(r["uniprot_id"] for r in rows)
    assert any(r["conserved_domains"] for r in rows)
    assert any(rg["ribosomal_slippage"] for r in rows for rg in r["cds_ranges"] or [])


def test_annotations_join_sequences_and_genomes():
    pkg = vpkg.open_package(ALL)
    cds_ids = set(pkg.table("cds_sequences").column("id").to_pylist())
    protein_ids = set(pkg.table("protein_sequences").column("id").to_pylist())
    genomes = set(pkg.table("genomes").column("accession").to_pylist())
    rows = pkg.table("annotations").to_pylist()
    assert {r["cds_id"] for r in rows} <= cds_ids
    assert {r["protein_id"] for r in rows if r["protein_id"]} <= protein_ids
    assert {r["accession"] for r in rows} == genomes


def test_gene_without_cds_gives_one_row(tmp_path):
    raw = (b'{"accession":"A1.1","genes":[{"name":"g1","geneId":"123"},'
           b'{"name":"g2","cds":[{"accession":"P1.1","name":"p"}]}],"isolateName":"i"}\n')
    rows = vpkg.open_package(build_dir(tmp_path, {"annotation_report.jsonl": raw})).table(
        "annotations").to_pylist()
    assert [(r["gene_name"], r["gene_id"], r["cds_index"], r["protein_accession"])
            for r in rows] == [("g1", 123, None, None), ("g2", None, 0, "P1.1")]
    assert all(r["extra"] is None for r in rows)


# ---- biosamples -------------------------------------------------------------------------

BIOSAMPLE_SCALARS = {
    ("accession",): "accession",
    ("description", "title"): "title",
    ("description", "comment"): "comment",
    ("description", "organism", "taxId"): "organism_tax_id",
    ("description", "organism", "organismName"): "organism_name",
    ("owner", "name"): "owner_name",
    ("package",): "package",
    ("status", "status"): "status",
    ("status", "when"): "status_date",
    ("submissionDate",): "submission_date",
    ("publicationDate",): "publication_date",
    ("lastUpdated",): "last_updated",
    ("collectionDate",): "collection_date",
    ("geoLocName",): "geo_loc_name",
    ("host",): "host",
    ("isolate",): "isolate",
    ("isolationSource",): "isolation_source",
    ("strain",): "strain",
}
BIOSAMPLE_LISTS = {  # list column -> JSON key and item key mapping
    "attributes": ("attributes", {"name": "name", "value": "value"}),
    "sample_ids": ("sampleIds", {"db": "db", "label": "label", "value": "value"}),
    "models": ("models", None),
}


def biosample_leaves(row: dict) -> dict:
    found = dict(leaves(json.loads(row["extra"]))) if row["extra"] else {}
    for path, column in BIOSAMPLE_SCALARS.items():
        found.setdefault(path, row[column])
    for column, (key, items) in BIOSAMPLE_LISTS.items():
        for i, item in enumerate(row[column] or []):
            if items is None:
                found.setdefault((key, i), item)
            else:
                for json_key, field in items.items():
                    found.setdefault((key, i, json_key), item[field])
    for i, project in enumerate(row["bioprojects"] or []):
        found.setdefault(("bioprojects", i, "accession"), project["accession"])
        found.setdefault(("bioprojects", i, "title"), project["title"])
    return found


def same(value, got) -> bool:
    if isinstance(got, dt.datetime):
        return dt.datetime.fromisoformat(value).replace(tzinfo=None) == got
    return value == got


@pytest.mark.parametrize("source", ["constructed", "real"])
def test_biosamples_lose_nothing(tmp_path, source):
    if source == "real":
        raw = (SAMPLES / "biosample.real_records_from_assembly_reports.2.jsonl").read_bytes()
        pkg = vpkg.open_package(build_dir(tmp_path, {"biosample_report.jsonl": raw}))
    else:
        raw = zip_members(ALL)[DATA + "biosample_report.jsonl"]
        pkg = vpkg.open_package(ALL)
    originals = lines(raw)
    table = pkg.table("biosamples")
    assert table.num_rows == len(originals)
    for row, original in zip(table.to_pylist(), originals, strict=True):
        found = biosample_leaves(row)
        for path, value in leaves(original):
            assert same(value, found.get(path)), (row["accession"], path, value,
                                                  found.get(path))


def test_biosample_columns_from_attributes(tmp_path):
    raw = (SAMPLES / "biosample.real_records_from_assembly_reports.2.jsonl").read_bytes()
    first = lines(raw)[0]
    row = vpkg.open_package(build_dir(tmp_path, {"biosample_report.jsonl": raw})).table(
        "biosamples").to_pylist()[0]
    attributes = {a["name"]: a["value"] for a in first["attributes"]}
    assert row["accession"] == "SAMEA13407341"
    assert row["collection_date"] == attributes["collection_date"] == "2020"
    assert row["geo_loc_name"] == attributes["geo_loc_name"] == "Canada"
    assert row["owner_name"] == "EBI"
    assert row["last_updated"] == dt.datetime(2022, 7, 15, 14, 46, 57)
    assert row["attributes"] == [{"name": a["name"], "value": a["value"]}
                                 for a in first["attributes"]]


def test_genomes_join_biosamples():
    pkg = vpkg.open_package(ALL)
    samples = set(pkg.table("biosamples").column("accession").to_pylist())
    linked = [b for b in pkg.table("genomes").column("biosample").to_pylist() if b]
    assert linked and set(linked) <= samples
