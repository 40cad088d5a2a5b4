"""Build a large, realistic virus genome data package for benchmarks, from real records.

Records come from the real packages of ``../shared/realdata/corpus/`` (400 species, 20,706
records; ``--corpus``, skipped when the folder is absent) and of the fixtures
(``fixtures/real/*.zip``, ``fixtures/samples/genomic.v1_sars-cov-2.5.fna``). Each genome
is drawn at random from that pool, so the package has NCBI's record-length mix (many short
segments and satellites, median about 600 bases, and a few long genomes), with a few point
substitutions, written as NCBI writes them: ``>ACCESSION.VERSION title`` and 70-character
lines. Each genome gets its own real report line (or a random one when the pool has none),
with a fresh accession, the length of the genome it describes and a fresh
``sequenceHash``; keys stay in the order NCBI writes them (alphabetical). When the genomes
are written and the report is still short of its size, more real lines follow. The zip is
laid out like NCBI's: deflate, data descriptors, a ZIP64 extra field on every entry, no
directory entries, plus ``README.md``, ``md5sum.txt``, ``dataset_catalog.json`` and
``virus_dataset.md``.

The output is a directory holding the extracted package (``<out>/ncbi_dataset/...``) and
the zip beside it (``<out>.zip``). With ``--shapes-mb``, worst-case members of that size
are written as bare member files under ``<out>-shapes/<shape>/`` (see `SHAPES`). The same
seed, sizes and corpus give the same bytes.

    python benchmarks/generate.py --genomic-mb 300 --report-mb 400 --shapes-mb 64 \
        --out benchmarks/out/bench
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import random
import re
import struct
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
#: The corpus of real packages (see ../shared/realdata/README.md).
CORPUS = ROOT.parent / "shared/realdata/corpus"
DATA = "ncbi_dataset/data"
LINE = 70
MB = 1 << 20
FABRICATED = ("INSDC001.",)


# ---- the real records ----------------------------------------------------------------------


def _fasta_records(raw: bytes) -> Iterator[tuple[str, bytes]]:
    for chunk in raw.split(b">")[1:]:
        header, _, body = chunk.partition(b"\n")
        yield header.decode().rstrip("\r"), body.replace(b"\n", b"").replace(b"\r", b"")


def _zip_records(path: Path, genomes: list, by_accession: dict, lines: list) -> None:
    with zipfile.ZipFile(path) as zf:
        genomes += _fasta_records(zf.read(f"{DATA}/genomic.fna"))
        for line in zf.read(f"{DATA}/data_report.jsonl").splitlines():
            if line.strip():
                by_accession[json.loads(line)["accession"]] = line
                lines.append(line)


def real_records(
    corpus: Path | None = None,
) -> tuple[list[tuple[str, bytes]], dict[str, bytes], list[bytes]]:
    """(genomes as (header, sequence), report line by accession, every real V2 report line).

    ``corpus`` is a folder of real package zips read as well as the fixtures (None: the
    fixtures only).
    """
    genomes: list[tuple[str, bytes]] = []
    by_accession: dict[str, bytes] = {}
    lines: list[bytes] = []
    for path in sorted((FIXTURES / "real").glob("*.zip")):
        _zip_records(path, genomes, by_accession, lines)
    if corpus is not None:
        for path in sorted(Path(corpus).glob("*.zip")):
            _zip_records(path, genomes, by_accession, lines)
    genomes += _fasta_records((FIXTURES / "samples/genomic.v1_sars-cov-2.5.fna").read_bytes())
    for name in ("data_report.diverse_40_viruses.jsonl",
                 "data_report.cchf_8_with_2_fabricated.jsonl"):
        for line in (FIXTURES / "samples" / name).read_bytes().splitlines():
            if line.strip() and not json.loads(line)["accession"].startswith(FABRICATED):
                lines.append(line)
    return genomes, by_accession, lines


class Template:
    """A real report line split around the values each generated line replaces."""

    def __init__(self, line: bytes):
        record = json.loads(line)
        compact = json.dumps(record, separators=(",", ":"), ensure_ascii=False).encode()
        if compact != line:  # the real lines are compact JSON; keep them byte for byte
            raise ValueError(f"not a compact report line: {line[:80]!r}")
        self.length = record.get("length")
        record["accession"] = "\0A\0"
        if "length" in record:
            record["length"] = "\0L\0"
        if isinstance(record.get("nucleotide"), dict) and "sequenceHash" in record["nucleotide"]:
            record["nucleotide"]["sequenceHash"] = "\0H\0"
        text = json.dumps(record, separators=(",", ":"), ensure_ascii=False)
        # [literal, slot, literal, slot, ..., literal]; a slot is A, L or H
        self.parts = re.split(r'"\\u0000([ALH])\\u0000"', text)

    def render(self, accession: str, length: int | None, token: str) -> bytes:
        values = {"A": f'"{accession}"', "L": str(length if length is not None else
                                                     self.length), "H": f'"{token}"'}
        parts = self.parts
        return "".join(p if i % 2 == 0 else values[p] for i, p in enumerate(parts)).encode()


# ---- generated content ---------------------------------------------------------------------


def accessions(rng: random.Random) -> Iterator[str]:
    """Fresh GenBank-like accessions (two letters, six digits, version), never repeated."""
    prefixes = [a + b for a in "PQ" for b in "ABCDEFGHJKLMNPRSTUVWXYZ"]
    rng.shuffle(prefixes)
    for prefix in prefixes:
        for number in range(1, 1_000_000):
            yield f"{prefix}{number:06d}.{rng.choice((1, 1, 1, 2))}"


def mutate(seq: bytes, rng: random.Random) -> bytes:
    """The sequence with a few point substitutions (about one per 5 kb, at least one)."""
    if not seq:
        return seq
    out = bytearray(seq)
    for _ in range(1 + len(seq) // 5000):
        at = rng.randrange(len(out))
        old = chr(out[at])
        choices = [b for b in "ACGT" if b != old.upper()]
        new = rng.choice(choices)
        out[at] = ord(new.lower() if old.islower() else new)
    return bytes(out)


def fasta_record(accession: str, title: str, seq: bytes) -> bytes:
    lines = [seq[i:i + LINE] for i in range(0, len(seq), LINE)]
    return b">" + f"{accession} {title}".encode() + b"\n" + b"\n".join(lines) + b"\n"


def _title(header: str) -> str:
    return header.partition(" ")[2]


class Writer:
    """A member file being written, with its md5."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.fh = open(path, "wb")
        self.md5 = hashlib.md5()
        self.size = 0

    def write(self, data: bytes) -> None:
        self.fh.write(data)
        self.md5.update(data)
        self.size += len(data)

    def close(self) -> None:
        self.fh.close()


def write_members(out: Path, genomic_mb: float, report_mb: float, seed: int,
                  corpus: Path | None = None) -> dict:
    """Write genomic.fna and data_report.jsonl under ``out``; (member -> Writer)."""
    rng = random.Random(seed)
    genomes, by_accession, lines = real_records(corpus)
    templates = [Template(line) for line in lines]
    paired = {acc: Template(line) for acc, line in by_accession.items()}
    names = accessions(rng)
    fna = Writer(out / DATA / "genomic.fna")
    report = Writer(out / DATA / "data_report.jsonl")
    pending: list[bytes] = []
    fasta_budget, report_budget = genomic_mb * MB, report_mb * MB
    while fna.size < fasta_budget:
        header, seq = rng.choice(genomes)
        accession = next(names)
        seq = mutate(seq, rng)
        fna.write(fasta_record(accession, _title(header), seq))
        template = paired.get(header.split(" ", 1)[0]) or rng.choice(templates)
        pending.append(template.render(accession, len(seq), f"{rng.getrandbits(32):08X}"))
        if len(pending) >= 1000:
            report.write(b"\n".join(pending) + b"\n")
            pending = []
        if report.size >= report_budget:
            break
    while report.size + sum(map(len, pending)) < report_budget:
        template = rng.choice(templates)
        pending.append(template.render(next(names), None, f"{rng.getrandbits(32):08X}"))
        if len(pending) >= 1000:
            report.write(b"\n".join(pending) + b"\n")
            pending = []
    if pending:
        report.write(b"\n".join(pending) + b"\n")
    fna.close()
    report.close()
    return {f"{DATA}/data_report.jsonl": report, f"{DATA}/genomic.fna": fna}


def catalog(sizes: dict[str, int]) -> bytes:
    """A dataset_catalog.json laid out as NCBI's is."""
    kinds = {"data_report.jsonl": "DATA_REPORT", "genomic.fna": "GENOMIC_NUCLEOTIDE_FASTA",
             "virus_dataset.md": "README"}
    entries = ",\n".join(
        f'    {{\n      "filePath": "{name}",\n      "fileType": "{kinds[name]}",\n'
        f'      "uncompressedLengthBytes": "{sizes[name]}"\n    }}'
        for name in kinds
    )
    head = '{\n"apiVersion": "V2",\n"assemblies": [\n{\n  "files": [\n'
    return (head + entries + "\n  ]\n}]}\n").encode()


def write_package(out: Path, genomic_mb: float, report_mb: float, seed: int,
                  corpus: Path | None = None) -> list[str]:
    """The extracted package under ``out``; its member paths in zip order."""
    written = write_members(out, genomic_mb, report_mb, seed, corpus)
    md5 = {name: w.md5.hexdigest() for name, w in written.items()}
    readme = (FIXTURES / "catalogs/virus_dataset.md").read_bytes()
    (out / DATA / "virus_dataset.md").write_bytes(readme)
    md5[f"{DATA}/virus_dataset.md"] = hashlib.md5(readme).hexdigest()
    sizes = {name.rsplit("/", 1)[1]: w.size for name, w in written.items()}
    sizes["virus_dataset.md"] = len(readme)
    cat = catalog(sizes)
    (out / DATA / "dataset_catalog.json").write_bytes(cat)
    md5[f"{DATA}/dataset_catalog.json"] = hashlib.md5(cat).hexdigest()
    with zipfile.ZipFile(FIXTURES / "real/Rotavirus_J.zip") as zf:
        (out / "README.md").write_bytes(zf.read("README.md"))
    order = [f"{DATA}/data_report.jsonl", f"{DATA}/genomic.fna",
             f"{DATA}/virus_dataset.md", f"{DATA}/dataset_catalog.json"]
    (out / "md5sum.txt").write_text("".join(f"{md5[n]}  {n}\n" for n in order))
    return ["README.md", *order, "md5sum.txt"]


# ---- the zip, laid out like NCBI's (Go archive/zip) ------------------------------------------

DOS_TIME, DOS_DATE = 0x6B3D, 0x5B21  # a fixed time stamp: deterministic output


def write_zip(root: Path, members: list[str], path: Path, level: int = 6) -> None:
    """Deflate ``members`` of ``root`` into ``path`` with data descriptors and ZIP64 extras."""
    central = []
    with open(path, "wb") as out:
        for name in members:
            offset = out.tell()
            raw_name = name.encode()
            local_extra = struct.pack("<HHQQ", 1, 16, 0, 0)
            out.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 45, 8, 8, DOS_TIME, DOS_DATE,
                                  0, 0xFFFFFFFF, 0xFFFFFFFF, len(raw_name), len(local_extra)))
            out.write(raw_name + local_extra)
            crc, size, csize = 0, 0, 0
            deflate = zlib.compressobj(level, zlib.DEFLATED, -15)
            with open(root / name, "rb") as fh:
                while chunk := fh.read(4 * MB):
                    crc = zlib.crc32(chunk, crc)
                    size += len(chunk)
                    packed = deflate.compress(chunk)
                    csize += len(packed)
                    out.write(packed)
            packed = deflate.flush()
            csize += len(packed)
            out.write(packed)
            out.write(struct.pack("<IIQQ", 0x08074B50, crc, csize, size))
            central.append((raw_name, crc, size, csize, offset))
        start = out.tell()
        for raw_name, crc, size, csize, offset in central:
            extra = struct.pack("<QQ", size, csize)
            small_offset = offset
            if offset >= 0xFFFFFFFF:
                extra += struct.pack("<Q", offset)
                small_offset = 0xFFFFFFFF
            extra = struct.pack("<HH", 1, len(extra)) + extra
            out.write(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 0x032D, 45, 8, 8, DOS_TIME,
                                  DOS_DATE, crc, 0xFFFFFFFF, 0xFFFFFFFF, len(raw_name),
                                  len(extra), 0, 0, 0, 0o600 << 16, small_offset))
            out.write(raw_name + extra)
        end = out.tell()
        count, length = len(central), end - start
        if start >= 0xFFFFFFFF:  # zip64 end of central directory record and locator
            out.write(struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, count, count,
                                  length, start))
            out.write(struct.pack("<IIQI", 0x07064B50, 0, end, 1))
            start = 0xFFFFFFFF
        out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, count, count, length, start, 0))


# ---- worst-case members ------------------------------------------------------------------------

#: shape -> (file name, what it holds). Each is written by `write_shape`.
SHAPES = {
    "blank_lines": ("data_report.jsonl", "a report of blank lines only"),
    "empty_objects": ("data_report.jsonl", "a report of '{}' lines only"),
    "one_base": ("genomic.fna", "FASTA records of one base each"),
    "long_headers": ("genomic.fna", "FASTA records with 64 KiB headers"),
    "report_known": ("data_report.jsonl", "the package report's first lines"),
    "report_unknown_key": ("data_report.jsonl",
                           "the same lines, each with a key vpkg does not know"),
}
#: The key every line of the ``report_unknown_key`` shape carries (NCBI's key order kept:
#: it sorts last).
UNKNOWN_KEY = b'"zzNewNcbiField":{"note":"a field added after this schema","count":3}'


def write_shape(shape: str, path: Path, size: int, report: Path, rng: random.Random) -> None:
    """Write ``size`` bytes (about) of the worst-case ``shape`` to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as out:
        written = 0
        if shape in ("blank_lines", "empty_objects"):
            unit = (b"\n" if shape == "blank_lines" else b"{}\n") * (1 << 16)
            while written < size:
                out.write(unit)
                written += len(unit)
        elif shape in ("one_base", "long_headers"):
            names = accessions(rng)
            while written < size:
                records = []
                for _ in range(1000 if shape == "one_base" else 50):
                    if shape == "one_base":
                        records.append(fasta_record(next(names), "one base", b"ACGT"[
                            rng.randrange(4):][:1]))
                    else:
                        title = "long header " + "x" * (64 << 10)
                        records.append(fasta_record(next(names), title, b"ACGT" * 50))
                data = b"".join(records)
                out.write(data)
                written += len(data)
        else:  # the first lines of the package report, with or without the unknown key
            with open(report, "rb") as fh:
                for line in fh:
                    if written >= size:
                        break
                    written += len(line)  # the same lines for both shapes
                    if shape == "report_unknown_key":
                        line = line.rstrip(b"\n")[:-1] + b"," + UNKNOWN_KEY + b"}\n"
                    out.write(line)


def write_shapes(out: Path, size_mb: float, seed: int) -> Path:
    """Every shape of `SHAPES` under ``<out>-shapes/<shape>/``; returns that folder."""
    folder = out.with_name(out.name + "-shapes")
    rng = random.Random(seed)
    for shape, (name, _) in SHAPES.items():
        write_shape(shape, folder / shape / name, int(size_mb * MB),
                    out / DATA / "data_report.jsonl", rng)
    return folder


def generate(out: Path, genomic_mb: float, report_mb: float, seed: int = 1,
             corpus: Path | None = None, shapes_mb: float = 0) -> Path:
    """Write the package directory ``out`` and the zip ``out.zip``; returns the zip path.

    ``corpus`` is a folder of real package zips to draw records from as well as the
    fixtures; ``shapes_mb`` > 0 also writes the worst-case members (`write_shapes`).
    """
    out = Path(out)
    members = write_package(out, genomic_mb, report_mb, seed, corpus)
    path = out.with_suffix(".zip")
    write_zip(out, members, path)
    if shapes_mb > 0:
        write_shapes(out, shapes_mb, seed)
    return path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--genomic-mb", type=float, default=300.0)
    parser.add_argument("--report-mb", type=float, default=400.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--corpus", type=Path, default=CORPUS,
                        help="folder of real package zips (default ../shared/realdata/corpus; "
                             "the fixtures only when it is absent)")
    parser.add_argument("--shapes-mb", type=float, default=0,
                        help="also write each worst-case member of this size (MB)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/out/bench")
    args = parser.parse_args(argv)
    corpus = args.corpus if args.corpus.is_dir() else None
    if corpus is None:
        print(f"{args.corpus}: no corpus there; drawing from the fixtures only")
    path = generate(args.out, args.genomic_mb, args.report_mb, args.seed, corpus,
                    args.shapes_mb)
    with zipfile.ZipFile(path) as zf:
        listing = io.StringIO()
        for info in zf.infolist():
            listing.write(f"{info.file_size:>14,} {info.compress_size:>14,}  {info.filename}\n")
    print(f"{path}\n{listing.getvalue()}extracted: {args.out}")


if __name__ == "__main__":
    main()
