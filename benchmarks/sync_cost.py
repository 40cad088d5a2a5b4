"""What a daily `vpkg sync` costs next to a full re-download: requests, bytes, minutes.

Measured: against the stand-in server of the tests (tests/ncbi_server.py + ncbi_world.py),
a world of ``--records`` records (default 10,000) made by cloning the real records of
``fixtures/world/`` under new accessions (reports and sequences unchanged). History: 0.5%
of the records were updated on each of the 7 days before the last sync (so the lag window
holds 3.5% of the taxon, as in steady state); then 0.5% more are updated today. The script
counts the HTTP requests and the response bytes the server sent for

* the daily sync (ACCESSIONS_ONLY listings of the lag window and of the records since the
  cursor; the whole taxon listed, or only counted between full listings (the default,
  ``--full-listing-days 7``; ``0`` lists in full every day); then the download of the
  changed records), and
* a full re-download (``GET /virus/taxon/{taxon}/genome/download``, one zip).

Computed: the same costs for ``--target`` records (default 1,000,000), scaling each
measured part by its own driver (listing bytes per listed record, window bytes per
windowed record, download bytes per changed record, full-download bytes per record;
requests = pages of 1000 and chunks of 1000), and minutes = requests at 3 or 10 requests/s
(NCBI's limits without/with an API key) plus transfer time at ``--mbit`` Mbit/s.

    .venv/bin/python benchmarks/sync_cost.py --records 10000
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import random
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from ncbi_server import NcbiServer  # noqa: E402
from ncbi_world import GEMINI, Record, World, read_packages  # noqa: E402

import vpkg  # noqa: E402

SOURCES = {  # name -> (packages, taxon the records share)
    "geminiviridae": (sorted((ROOT / "fixtures" / "world").glob("*.zip")), GEMINI),
    "sars-cov-2": ([ROOT / "fixtures" / "real" / "sars-cov-2_NC_045512.2_2026.zip"], "2697049"),
}


def scaled_world(n: int, source: str, divergence: float, seed: int) -> World:
    """``n`` clones of the source's real records, each with its own accession and with
    ``divergence`` of its bases substituted at random (real genomes of one taxon differ;
    identical clones would compress unrealistically well)."""
    paths, taxon = SOURCES[source]
    base = World(read_packages(paths))
    real = [r for r in base.records.values() if base.taxon_matches(taxon, r.report)]
    rng = random.Random(seed)
    records = {}
    for i in range(n):
        src = real[i % len(real)]
        acc = f"SB{i:07d}.1"
        report = {**src.report, "accession": acc}
        header, _, seq = src.fasta.partition(b"\n")
        body = bytearray(seq)
        letters = [j for j, c in enumerate(body) if c in b"ACGT"]
        for j in rng.sample(letters, int(len(letters) * divergence)):
            body[j] = rng.choice([c for c in b"ACGT" if c != body[j]])
        old = src.accession.encode()
        records[acc] = Record(report, header.replace(old, acc.encode(), 1) + b"\n" + body)
    world = World(records)
    world.rng = rng
    return world


def touch(world: World, count: int, days_ago: int) -> None:
    day = (dt.datetime.now(dt.UTC).date() - dt.timedelta(days=days_ago)).isoformat()
    for acc in world.rng.sample(sorted(world.records), count):
        world.update(acc, day, isolate={"name": f"update {days_ago} days ago"})


def measure(server: NcbiServer, run) -> tuple[int, int, float]:
    requests, sent = len(server.requests), server.bytes_sent
    start = time.perf_counter()
    run()
    return len(server.requests) - requests, server.bytes_sent - sent, time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=10_000)
    ap.add_argument("--target", type=int, default=1_000_000)
    ap.add_argument("--changed", type=float, default=0.005, help="share changed per day")
    ap.add_argument("--lag-days", type=int, default=7)
    ap.add_argument("--mbit", type=float, default=100.0, help="bandwidth for transfer time")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--source", choices=sorted(SOURCES), default="geminiviridae",
                    help="real records to clone")
    ap.add_argument("--divergence", type=float, default=0.001,
                    help="share of bases substituted in each clone")
    ap.add_argument("--full-listing-days", type=int, default=7,
                    help="as for vpkg sync: 0 lists the whole taxon on every run")
    ap.add_argument("--gzip", action="store_true",
                    help="the stand-in gzips report pages (whether NCBI does is not known)")
    args = ap.parse_args()

    server = NcbiServer().start()
    os.environ["VPKG_BASE_URL"] = server.base_url
    os.environ.pop("NCBI_API_KEY", None)
    world = server.world = scaled_world(args.records, args.source, args.divergence, args.seed)
    world.gzip = args.gzip
    taxon = SOURCES[args.source][1]
    per_day = max(1, round(args.records * args.changed))
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "wh.duckdb"
        for days_ago in range(args.lag_days, 0, -1):
            touch(world, per_day, days_ago)
        vpkg.sync(db, taxon, progress=False, lag_days=args.lag_days)  # yesterday's state
        touch(world, per_day, 0)
        result = {}
        sync_req, sync_bytes, sync_s = measure(server, lambda: result.update(
            r=vpkg.sync(db, taxon, progress=False, lag_days=args.lag_days,
                        full_listing_days=args.full_listing_days)))
        r = result["r"]
        pages = server.requests[-sync_req:]
        listing = [q for q in pages if q.path.endswith("/dataset_report") or q.path.endswith(
            "/virus")]
        full_req, full_bytes, full_s = measure(server, lambda: vpkg.download(
            taxon=taxon, dest=Path(tmp) / "full.zip", progress=False))
    server.stop()

    # split the sync's bytes into its parts (the server's request log gives each body size)
    part_bytes = {"accessions": 0, "count": 0, "window": 0, "download": 0}
    for q in server.requests[-(sync_req + full_req):-full_req]:
        if q.path.endswith("/genome/download"):
            part_bytes["download"] += q.sent
        elif "filter.updated_since" in q.raw_target:
            part_bytes["window"] += q.sent  # the lag window and the records since the cursor
        elif parse_qs(urlsplit(q.raw_target).query).get("page_size") == ["1"]:
            part_bytes["count"] += q.sent  # one page of one record: the same at any size
        else:
            part_bytes["accessions"] += q.sent
    window = per_day * (args.lag_days + 1)
    scale = args.target / args.records
    t_changed = round(args.target * args.changed)
    t_window = t_changed * (args.lag_days + 1)
    t_sync_bytes = (part_bytes["accessions"] * scale + part_bytes["count"]
                    + part_bytes["window"] / (window + per_day) * (t_window + t_changed)
                    + part_bytes["download"] / max(1, r.added + r.updated) * t_changed)
    listing_req = math.ceil(args.target / 1000) if r.listed_in_full else 1  # or the count
    t_sync_req = (listing_req + math.ceil(t_window / 1000)
                  + 2 * math.ceil(t_changed / 1000))  # + the listing since the cursor, chunks
    t_full_bytes = full_bytes * scale
    t_full_req = 1

    def minutes(req: int, nbytes: float, rate: float) -> float:
        return (req / rate + nbytes * 8 / (args.mbit * 1e6)) / 60

    print(f"source {args.source}, divergence {args.divergence:g}, report pages "
          f"{'gzip-encoded' if args.gzip else 'uncompressed'}, taxon "
          f"{'listed in full' if r.listed_in_full else 'counted (no full listing)'}")
    print(f"measured at {args.records:,} records ({per_day} changed today, {window} in the "
          f"{args.lag_days}-day window); sync: {r}")
    print(f"  sync: {sync_req} requests, {sync_bytes:,} bytes ({part_bytes}), {sync_s:.1f} s "
          f"local; listing requests {len(listing)}")
    print(f"  full re-download: {full_req} request(s), {full_bytes:,} bytes, {full_s:.1f} s")
    print(f"  measured ratio: {sync_bytes / full_bytes:.2%} of the full re-download's bytes")
    print()
    print(f"computed for {args.target:,} records, {t_changed:,} changed per day, transfer at "
          f"{args.mbit:g} Mbit/s:")
    print("| | requests | bytes | minutes at 3 req/s | minutes at 10 req/s |")
    print("|---|---:|---:|---:|---:|")
    for name, req, nbytes in (("daily sync", t_sync_req, t_sync_bytes),
                              ("full re-download", t_full_req, t_full_bytes)):
        print(f"| {name} | {req:,} | {nbytes / 1e6:,.1f} MB | {minutes(req, nbytes, 3):.1f} | "
              f"{minutes(req, nbytes, 10):.1f} |")
    print(f"\nsync / full bytes: {t_sync_bytes / t_full_bytes:.2%}")


if __name__ == "__main__":
    main()
