"""One huge member on several cores: decode and parse ranges of it from a deflate index.

The prototype of docs/scale.md, measured once on the benchmark package:

1. one sequential pass builds the access-point index (`vpkg.container.index.build_index`),
   cached beside the zip (the time of that pass is reported; a cached index costs ~0);
2. the baseline: vpkg's own reader over the whole member in one process (decode + parse),
   and decoding alone (vpkg's member stream);
3. ``--workers`` processes (started and warm before the clock starts, as executors are), each
   decoding its record-aligned range from its access point and parsing it with vpkg's reader
   (a FASTA range starts at its first ``>``, a report range at its first line);
4. the check: the workers' ranges, written out and joined, equal the member byte for byte
   (compared with the stream of the zip's own inflate), their rows add up to the baseline's,
   and the CRC-32 of the ranges, combined, is the zip's CRC of the member.

    python benchmarks/split_member.py --zip benchmarks/out/bench.zip --member genomic.fna

Needs the ``scale`` extra (rapidgzip). Writes ``--json``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import tempfile
import time
import zipfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from isal.isal_zlib import crc32, crc32_combine

import vpkg
from vpkg.container.index import FASTA, LINES, build_index, record_range

ROOT = Path(__file__).resolve().parent.parent
DATA = "ncbi_dataset/data"
#: member -> (table, record marker)
KINDS = {"genomic.fna": ("genome_sequences", FASTA), "data_report.jsonl": ("genomes", LINES)}


class Crc:
    """A stream that keeps the CRC-32 and length of what is read through it."""

    def __init__(self, raw):
        self.raw, self.crc, self.size = raw, 0, 0

    def read(self, n: int = -1) -> bytes:
        data = self.raw.read(n)
        self.crc = crc32(data, self.crc)
        self.size += len(data)
        return data


def batches_of(table: str):
    """vpkg's parser of a table, fed any binary stream."""
    from vpkg.readers import fasta, report

    return {"genome_sequences": fasta.genome_batches, "genomes": report.batches}[table]


def work(zip_path: str, member: str, spacing: int, start: int, stop: int, mode: str,
         dump: str | None = None) -> dict:
    """One worker: its range of the member, decoded (and parsed unless mode is 'decode')."""
    began, cpu = time.perf_counter(), time.process_time()
    name = member.rsplit("/", 1)[-1]
    table, marker = KINDS[name]
    index = build_index(zip_path, member, spacing=spacing)  # the cached index: read, not built
    rows = 0
    with record_range(index, start, stop, marker) as part:
        stream = Crc(part)
        if mode == "decode":
            while stream.read(8 << 20):
                pass
        elif mode == "dump":
            with open(dump, "wb") as out:
                while block := stream.read(8 << 20):
                    out.write(block)
        else:
            for batch in batches_of(table)(stream, f"{zip_path}: {member}", 65536):
                rows += batch.num_rows
        return {"begin": part.begin, "end": part.end, "bytes": stream.size, "crc": stream.crc,
                "rows": rows, "seconds": time.perf_counter() - began,
                "cpu_s": time.process_time() - cpu}


def sequential(zip_path: str, member: str, mode: str) -> tuple[float, float, int]:
    """vpkg's own path over the whole member, in this process: (seconds, CPU seconds, rows)."""
    began, cpu = time.perf_counter(), time.process_time()
    table, _ = KINDS[member.rsplit("/", 1)[-1]]
    rows = 0
    with vpkg.open_package(zip_path) as pkg:
        if mode == "decode":
            with pkg.open_member(member) as fh:
                while fh.read(8 << 20):
                    pass
        else:
            for batch in pkg.reader(table):
                rows += batch.num_rows
    return time.perf_counter() - began, time.process_time() - cpu, rows


def same_bytes(zip_path: str, member: str, files: list[str]) -> bool:
    """Whether the files, joined, equal the member as the zip's own inflate gives it."""
    with zipfile.ZipFile(zip_path) as zf, zf.open(member) as whole:
        for path in files:
            with open(path, "rb") as part:
                while block := part.read(8 << 20):
                    if whole.read(len(block)) != block:
                        return False
        return whole.read(1) == b""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--zip", default=str(ROOT / "benchmarks/out/bench.zip"))
    parser.add_argument("--member", default="genomic.fna", choices=list(KINDS))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--spacing", type=int, default=8 << 20,
                        help="output bytes between access points")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    member = f"{DATA}/{args.member}"
    with zipfile.ZipFile(args.zip) as zf:
        info = zf.getinfo(member)
    out: dict = {"zip": Path(args.zip).name, "member": member, "size": info.file_size,
                 "compressed": info.compress_size, "workers": args.workers,
                 "cpus": os.cpu_count()}

    began = time.perf_counter()
    cached = Path(f"{args.zip}.vpkg-index/{args.member}.json").exists()
    index = build_index(args.zip, member, spacing=args.spacing)
    out["index_s"] = time.perf_counter() - began
    out["index_was_cached"] = cached
    out["access_points"] = len(index.points)
    out["index_bytes"] = index.path.stat().st_size
    cuts = index.split(args.workers)
    out["cuts"] = cuts

    out["sequential_decode_s"], out["sequential_decode_cpu_s"], _ = sequential(
        args.zip, member, "decode")
    out["sequential_parse_s"], out["sequential_parse_cpu_s"], out["rows"] = sequential(
        args.zip, member, "parse")

    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(args.workers, mp_context=context) as pool:
        list(pool.map(pow, range(args.workers), [1] * args.workers))  # warm: started, imported
        tasks = list(zip(cuts, cuts[1:], strict=False))
        for mode in ("decode", "parse"):
            began = time.perf_counter()
            parts = list(pool.map(work, *zip(*[(args.zip, member, args.spacing, a, b, mode)
                                               for a, b in tasks], strict=True)))
            out[f"parallel_{mode}_s"] = time.perf_counter() - began
            out[f"parallel_{mode}_workers_s"] = [round(p["seconds"], 3) for p in parts]
            out[f"parallel_{mode}_workers_cpu_s"] = [round(p["cpu_s"], 3) for p in parts]
        out["parallel_rows"] = sum(p["rows"] for p in parts)
        combined = parts[0]["crc"]
        for p in parts[1:]:
            combined = crc32_combine(combined, p["crc"], p["bytes"])
        out["ranges"] = [[p["begin"], p["end"]] for p in parts]
        out["crc_matches_zip"] = combined == info.CRC
        with tempfile.TemporaryDirectory(dir=Path(args.zip).parent) as tmp:
            files = [os.path.join(tmp, f"part-{i}") for i in range(len(tasks))]
            list(pool.map(work, *zip(*[(args.zip, member, args.spacing, a, b, "dump", f)
                                       for (a, b), f in zip(tasks, files, strict=True)],
                                     strict=True)))
            out["joined_equals_member"] = same_bytes(args.zip, member, files)
    out["speedup_decode"] = out["sequential_decode_s"] / out["parallel_decode_s"]
    out["speedup_parse"] = out["sequential_parse_s"] / out["parallel_parse_s"]
    # what the split would give on idle cores: the busiest worker's CPU against the whole
    for mode in ("decode", "parse"):
        out[f"cpu_bound_speedup_{mode}"] = out[f"sequential_{mode}_cpu_s"] / max(
            out[f"parallel_{mode}_workers_cpu_s"])
    assert out["joined_equals_member"] and out["crc_matches_zip"], out
    assert out["parallel_rows"] == out["rows"], out
    text = json.dumps(out, indent=2)
    if args.json:
        Path(args.json).write_text(text + "\n", encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
