"""A stand-in *world* for `NcbiServer`: real records, served as NCBI Datasets serves them.

`World` holds records (the real data-report lines and FASTA records of the packages in
``fixtures/world/``) and answers, from them:

* ``GET /virus/taxon/{taxon}/dataset_report``, ``GET /virus/accession/{acc}/dataset_report``
  and ``POST /virus``: pages of ``page_size`` records in accession order, ``page_token`` an
  offset, ``total_count`` (left out when 0, as protobuf JSON does), ``filter.*`` filters,
  ``returned_content`` ``ACCESSIONS_ONLY`` (``{"accession": ...}``) or ``COMPLETE`` (the
  record with **snake_case** keys, converted here independently of vpkg);
* ``GET /virus/taxon/{taxon}/genome/download`` and the accession downloads (GET and POST):
  a zip built on the fly (README.md, data_report.jsonl, genomic.fna when GENOME is asked,
  dataset_catalog.json, md5sum.txt), records in accession order.

A taxon matches a record by its virus taxid, name, or any taxid/name of its virus lineage;
a taxon no record matches is answered with NCBI's 400 error shape. Tests change the world
between runs with `update`, `bump`, `withdraw`, `add`.
"""

from __future__ import annotations

import copy
import gzip
import hashlib
import io
import json
import re
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
WORLD = FIXTURES / "world"
GEMINI = "10811"  # Geminiviridae: 22 records in fixtures/world
CIRCO = "39724"  # Circoviridae: 13 records
DATA = "ncbi_dataset/data/"


@dataclass
class Record:
    report: dict  # camelCase, as in data_report.jsonl
    fasta: bytes  # the genomic.fna record, header line included

    @property
    def accession(self) -> str:
        return self.report["accession"]


def read_packages(paths) -> dict[str, Record]:
    """The records of real packages: data-report lines joined with their FASTA records."""
    out: dict[str, Record] = {}
    for path in paths:
        with zipfile.ZipFile(path) as z:
            lines = z.read(DATA + "data_report.jsonl").splitlines()
            fasta = z.read(DATA + "genomic.fna")
        blocks = {}
        for block in re.split(rb"\n(?=>)", fasta.strip()):
            blocks[block[1:].split(None, 1)[0].decode()] = block + b"\n"
        for line in lines:
            report = json.loads(line)
            out[report["accession"]] = Record(report, blocks[report["accession"]])
    return out


def snake(value):
    """camelCase keys -> snake_case, recursively (the REST spelling)."""
    if isinstance(value, dict):
        return {re.sub(r"[A-Z]", lambda m: "_" + m.group(0).lower(), k): snake(v)
                for k, v in value.items()}
    if isinstance(value, list):
        return [snake(v) for v in value]
    return value


def day(text: str) -> str:
    """'2026-11-20' -> the report spelling '2026-11-20T00:00:00Z'."""
    return f"{text}T00:00:00Z"


class World:
    """Records by accession, with the mutations tests apply between runs."""

    def __init__(self, records: dict[str, Record] | None = None):
        self.records = records if records is not None else read_packages(
            sorted(WORLD.glob("*.zip")))
        self.downloads: list[list[str]] = []  # accessions of every package served
        self.before_download = None  # callable(accessions) run before a zip is built
        self.gzip = False  # gzip report pages for clients that accept it (not known of NCBI)

    # ---- mutations ------------------------------------------------------------------------
    def update(self, accession: str, update_date: str, **fields) -> None:
        """A new update of a record: ``updateDate`` and any top-level fields changed."""
        record = self.records[accession]
        record.report = {**record.report, "updateDate": day(update_date), **fields}

    def bump(self, accession: str, update_date: str) -> str:
        """Supersede ``ACC.n`` by ``ACC.n+1`` (one base of the sequence changed)."""
        old = self.records.pop(accession)
        stem, version = accession.rsplit(".", 1)
        new = f"{stem}.{int(version) + 1}"
        report = copy.deepcopy(old.report)
        report["accession"] = new
        report["updateDate"] = day(update_date)
        if "nucleotide" in report:
            report["nucleotide"]["accessionVersion"] = new
        header, _, seq = old.fasta.partition(b"\n")
        at = 5
        base = b"C" if seq[at:at + 1] != b"C" else b"G"
        seq = seq[:at] + base + seq[at + 1:]
        self.records[new] = Record(report, header.replace(accession.encode(), new.encode(), 1)
                                   + b"\n" + seq)
        return new

    def withdraw(self, accession: str) -> Record:
        return self.records.pop(accession)

    def add(self, record: Record) -> None:
        self.records[record.accession] = record

    # ---- queries ---------------------------------------------------------------------------
    def taxon_matches(self, taxon: str, report: dict) -> bool:
        virus = report.get("virus") or {}
        names = {str(virus.get("taxId")), str(virus.get("organismName", "")).lower()}
        for node in virus.get("lineage") or []:
            names |= {str(node.get("taxId")), str(node.get("name", "")).lower()}
        return taxon.lower() in names

    def select(self, taxon: str | None, accessions: list[str] | None, filters: dict) -> list:
        out = []
        for acc in sorted(self.records):
            report = self.records[acc].report
            if taxon is not None and not self.taxon_matches(taxon, report):
                continue
            if accessions is not None and acc not in accessions:
                continue
            if self.passes(report, filters):
                out.append(self.records[acc])
        return out

    @staticmethod
    def passes(report: dict, f: dict) -> bool:
        def since(key, field):
            if key not in f:
                return True
            limit = datetime.fromisoformat(f[key].replace("Z", "+00:00"))
            value = report.get(field)
            return value is not None and datetime.fromisoformat(
                value.replace("Z", "+00:00")) >= limit

        host = report.get("host") or {}
        location = report.get("location") or {}
        checks = [
            f.get("refseq_only") != "true" or report.get("sourceDatabase") == "RefSeq",
            f.get("annotated_only") != "true" or bool(report.get("isAnnotated")),
            f.get("complete_only") != "true" or report.get("completeness") == "COMPLETE",
            "host" not in f or f["host"].lower() in (
                str(host.get("taxId")), str(host.get("organismName", "")).lower()),
            "geo_location" not in f or str(location.get("geographicLocation", "")).lower()
            .split(":")[0] == f["geo_location"].lower()
            or str(location.get("geographicRegion", "")).lower() == f["geo_location"].lower(),
            "usa_state" not in f or location.get("usaState") == f["usa_state"],
            "pangolin_classification" not in f
            or (report.get("virus") or {}).get("pangolinClassification")
            == f["pangolin_classification"],
            since("released_since", "releaseDate"),
            since("updated_since", "updateDate"),
        ]
        return all(checks)

    # ---- answers ---------------------------------------------------------------------------
    def answer(self, record) -> tuple[int, bytes, dict] | None:
        """(status, body, headers) for a world endpoint, or None for any other request."""
        path = record.path.removeprefix("/datasets/v2")
        query: dict[str, list[str]] = {}
        for k, v in record.query:
            query.setdefault(k, []).append(v)
        one = {k: v[-1] for k, v in query.items()}
        m = re.fullmatch(r"/virus/taxon/([^/]+)/dataset_report", path)
        if m:
            filters = {k[7:]: v for k, v in one.items() if k.startswith("filter.")}
            return self.page(unquote(m.group(1)), None, filters, one)
        m = re.fullmatch(r"/virus/accession/([^/]+)/dataset_report", path)
        if m:
            filters = {k[7:]: v for k, v in one.items() if k.startswith("filter.")}
            return self.page(None, unquote(m.group(1)).split(","), filters, one)
        if path == "/virus" and record.method == "POST":
            body = record.json or {}
            flt = dict(body.get("filter") or {})
            taxon = flt.pop("taxon", None)
            accessions = flt.pop("accessions", None)
            filters = {k: (("true" if v else "false") if isinstance(v, bool) else str(v))
                       for k, v in flt.items()}
            params = {k: str(v) for k, v in body.items() if k != "filter"}
            return self.page(taxon, accessions, filters, params)
        m = re.fullmatch(r"/virus/taxon/([^/]+)/genome/download", path)
        if m:
            taxon = unquote(m.group(1))
            if not self.select(taxon, None, {}):
                return self.unknown(taxon)
            return self.package(self.select(taxon, None, one), query.get("include_sequence"))
        if path.endswith("/genome/download"):
            wanted = record.accessions
            include = (record.json or {}).get("include_sequence") if record.method == "POST" \
                else query.get("include_sequence")
            return self.package(self.select(None, wanted, {}), include)
        return None

    @staticmethod
    def unknown(taxon: str) -> tuple[int, bytes, dict]:
        body = {"error": "Bad Request", "code": 400,
                "message": f"Invalid taxon: '{taxon}' is not a recognized taxonomy name or id"}
        return 400, json.dumps(body).encode(), {"Content-Type": "application/json"}

    def page(self, taxon, accessions, filters: dict, params: dict):
        if taxon is not None and not self.select(taxon, None, {}):
            return self.unknown(taxon)
        chosen = self.select(taxon, accessions, filters)
        size = int(params.get("page_size", 20))
        start = int(params.get("page_token") or 0)
        part = chosen[start:start + size]
        if params.get("returned_content") == "ACCESSIONS_ONLY":
            reports = [{"accession": r.accession} for r in part]
        else:
            reports = [snake(r.report) for r in part]
        body: dict = {"reports": reports}
        if chosen:
            body["total_count"] = len(chosen)
        if start + size < len(chosen):
            body["next_page_token"] = str(start + size)
        return 200, json.dumps(body).encode(), {"Content-Type": "application/json"}

    def encode(self, record, answer):
        """``answer`` gzip-encoded when `gzip` is set, the client accepts it and it is JSON."""
        code, body, headers = answer
        accepts = "gzip" in record.headers.get("accept-encoding", "")
        if self.gzip and accepts and headers.get("Content-Type") == "application/json":
            return code, gzip.compress(body, 6), {**headers, "Content-Encoding": "gzip"}
        return answer

    def package(self, records: list[Record], include) -> tuple[int, bytes, dict]:
        accessions = [r.accession for r in records]
        if self.before_download is not None:
            self.before_download(accessions)
        self.downloads.append(accessions)
        members = {DATA + "data_report.jsonl": b"".join(
            json.dumps(r.report, sort_keys=True, separators=(",", ":")).encode() + b"\n"
            for r in records)}
        if include is None or "GENOME" in include:
            members[DATA + "genomic.fna"] = b"".join(r.fasta for r in records)
        files = [{"filePath": n[len(DATA):], "fileType": "DATA_REPORT" if n.endswith("jsonl")
                  else "GENOMIC_NUCLEOTIDE_FASTA", "uncompressedLengthBytes": str(len(b))}
                 for n, b in members.items()]
        members[DATA + "dataset_catalog.json"] = json.dumps(
            {"apiVersion": "V2", "assemblies": [{"files": files}]}).encode()
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr("README.md", "# NCBI Datasets (stand-in world)\n")
            for name, data in members.items():
                z.writestr(name, data)
            z.writestr("md5sum.txt", "".join(f"{hashlib.md5(d).hexdigest()}  {n}\n"
                                             for n, d in members.items()))
        return 200, buf.getvalue(), {"Content-Type": "application/zip"}


def today() -> str:
    return datetime.now(UTC).date().isoformat()
