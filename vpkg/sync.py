"""Keep a DuckDB warehouse current with NCBI for one or more taxa: `sync`.

One run, for a *scope* (taxa + filters + ``include``):

1. list, as accessions only (``returned_content=ACCESSIONS_ONLY``), every record of the
   scope, those updated since the last run's start minus ``lag_days`` (the *window*), and
   those updated since the last run's start; a record in the window now but not in the
   window of the last run (``sync_window``) was updated or published late since;
2. plan, in one transaction: withdrawn records listed again are restored; records already in
   the warehouse (``vpkg load``) whose complete report equals the stored ``genomes`` row are
   adopted without a download; other new records and changed members go to ``sync_pending``;
3. download the pending accessions in chunks (accession download, each package verified) and
   load each chunk with the newest-wins `vpkg.load` rules, in one transaction that also
   marks the chunk's accessions as members and no longer pending;
4. in one last transaction, move the rows of records no longer listed to
   ``withdrawn_<table>`` (only records a sync downloaded, and that no scope still lists),
   advance the cursor and log the run in ``sync_runs``.

A run that fails or is killed leaves every committed transaction in place: the next run
starts from the committed plan and downloads only what is still pending, plus what changed
since. See docs/sync.md.

>>> import vpkg
>>> vpkg.sync("wh.duckdb", taxon="1335626")  # doctest: +SKIP
SyncResult(... added=..., updated=0, withdrawn=0, unchanged=0, ...)
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from vpkg.errors import DownloadError, ParameterError, VpkgError
from vpkg.fetch.params import INCLUDE

if TYPE_CHECKING:  # pragma: no cover
    import duckdb
    import pyarrow as pa

    from vpkg.fetch.params import DownloadRequest
    from vpkg.fetch.session import RetryPolicy

DEFAULT_CHUNK = 1000


@dataclass
class SyncResult:
    """What one run did (or, with ``dry_run``, would do).

    ``added``: accessions new to the scope (downloaded, restored or adopted); ``updated``:
    members downloaded again because their report changed; ``withdrawn``: members NCBI no
    longer lists; ``unchanged``: the other members still listed. ``bytes`` counts listing
    pages and packages received, ``requests`` every HTTP request (retries included).
    ``listed_in_full``: whether every accession of the scope was listed (otherwise a count
    showed that only the lag window changed).
    """

    scope: str
    listed: int = 0
    added: int = 0
    updated: int = 0
    withdrawn: int = 0
    unchanged: int = 0
    restored: int = 0
    adopted: int = 0
    bytes: int = 0
    requests: int = 0
    chunks: int = 0
    listed_in_full: bool = True
    dry_run: bool = False
    download: list[str] = field(default_factory=list, repr=False)

    def __str__(self) -> str:
        verb = "would be " if self.dry_run else ""
        extra = []
        if self.restored:
            extra.append(f"{self.restored} restored")
        if self.adopted:
            extra.append(f"{self.adopted} adopted without download")
        note = f" ({', '.join(extra)})" if extra else ""
        tail = (f"; would download {len(self.download):,} accession(s) in {self.chunks} "
                "chunk(s), nothing written" if self.dry_run else "")
        return (f"{self.scope}: {self.added:,} {verb}added{note}, {self.updated:,} {verb}"
                f"updated, {self.withdrawn:,} {verb}withdrawn, {self.unchanged:,} unchanged; "
                f"{self.bytes:,} bytes downloaded in {self.requests:,} request(s){tail}")


def sync(
    db: str | os.PathLike,
    taxon: str | int | Iterable[str | int],
    *,
    include: str | Iterable[str] = "genome",
    lag_days: int = 7,
    full_listing_days: int = 7,
    dry_run: bool = False,
    host: str | int | None = None,
    geo_location: str | None = None,
    usa_state: str | None = None,
    pangolin_classification: str | None = None,
    complete_only: bool = False,
    refseq_only: bool = False,
    annotated_only: bool = False,
    released_since: str | dt.date | dt.datetime | None = None,
    api_key: str | None = None,
    base_url: str | None = None,
    progress: bool | None = None,
    retry_policy: RetryPolicy | None = None,
    chunk_size: int = DEFAULT_CHUNK,
    page_size: int = 1000,
) -> SyncResult:
    """Bring the records of ``taxon`` (and filters) in warehouse ``db`` up to date with NCBI.

    Parameters
    ----------
    db
        The DuckDB warehouse file; created when missing (not by a dry run).
    taxon
        One NCBI taxid or name, or several (their records together form the scope).
    include
        What to download for each record: ``genome``, ``cds``, ``protein``, ``annotation``,
        ``biosample``, ``none`` (comma-separated text or a list), as for ``vpkg download``.
    lag_days
        Records updated up to this many days before the last run are listed again (NCBI
        shows records up to about a week after their update date).
    full_listing_days
        List every accession of the scope at least this often (days); in between, one count
        request checks that nothing outside the lag window changed, and a full listing
        follows only when it did. ``0``: list in full on every run.
    dry_run
        List, compare and report what would change; download and write nothing.
    host, geo_location, usa_state, pangolin_classification, complete_only, refseq_only,
    annotated_only, released_since
        Filters of the scope, as for `vpkg.download`.
    api_key, base_url, retry_policy
        As for `vpkg.download` (``$NCBI_API_KEY``, ``$VPKG_BASE_URL``).
    progress
        Progress bars on stderr; default: only on a terminal.
    chunk_size
        Accessions per download request (each chunk is one transaction).
    page_size
        Records per listing page (1 to 1000).

    Returns
    -------
    SyncResult
        Counts of the run; ``str()`` of it is the one-line summary.

    Raises
    ------
    ParameterError
        For bad parameters, a ``db`` that is not a DuckDB warehouse, or one written by a
        newer vpkg.
    DownloadError
        When NCBI cannot be reached or refuses a request (an unknown taxon is named); what
        was committed stays, and the next run finishes the work.
    """
    from vpkg.fetch.listing import make_query
    from vpkg.fetch.params import build_request, resolve_api_key, resolve_base_url

    taxa = _taxa(taxon)
    words = _include(include)
    lag = _whole("lag_days", lag_days, 0)
    full_every = _whole("full_listing_days", full_listing_days, 0)
    chunk = _whole("chunk_size", chunk_size, 1)
    if not isinstance(dry_run, bool):
        raise ParameterError(f"dry_run must be True or False, not {dry_run!r}", "dry_run")
    filters = dict(host=host, geo_location=geo_location, usa_state=usa_state,
                   pangolin_classification=pangolin_classification,
                   complete_only=complete_only, refseq_only=refseq_only,
                   annotated_only=annotated_only, released_since=released_since)
    listing_filters = {k: v for k, v in filters.items() if v not in (None, False)}
    for t in taxa:  # validates every filter and the page size before any request
        make_query(t, returned_content="ACCESSIONS_ONLY", page_size=page_size,
                   **listing_filters)
    download_request = build_request(["X1"], **_include_params(words))
    normal = build_request(None, **listing_filters)
    scope_filters = {k: getattr(normal, k) for k in listing_filters}
    scope = json.dumps({"taxa": taxa, "filters": scope_filters, "include": words},
                       sort_keys=True)
    path = _db_path(db)
    run = _Run(
        path=path, taxa=taxa, filters=listing_filters, scope=scope, lag=lag,
        full_every=full_every, chunk=chunk,
        page_size=page_size, download_request=download_request, dry_run=dry_run,
        progress=progress, base=resolve_base_url(base_url), key=resolve_api_key(api_key),
        policy=retry_policy,
    )
    return run.go()


def _taxa(taxon) -> list[str]:
    from vpkg.fetch.params import taxon_text

    items = [taxon] if isinstance(taxon, str | int) else taxon
    if isinstance(items, Iterable) and not isinstance(items, str | bytes):
        items = list(items)
    else:
        items = []
    if not items:
        raise ParameterError("taxon: give one or more taxids or names, e.g. 1335626", "taxon")
    return sorted(dict.fromkeys(taxon_text("taxon", t) for t in items))


def _include(include) -> list[str]:
    items = include.split(",") if isinstance(include, str) else list(include)
    words = sorted(dict.fromkeys(w.strip().lower() for w in items if w.strip()))
    bad = [w for w in words if w not in INCLUDE]
    if bad or not words:
        raise ParameterError(
            f"include: {', '.join(bad) or 'nothing'} is not one of {', '.join(INCLUDE)}",
            "include")
    if "none" in words and any(INCLUDE[w][0] == "include_sequence" and w != "none"
                               for w in words):
        raise ParameterError("include: 'none' cannot be combined with genome, cds or protein",
                             "include")
    return words


def _include_params(words: list[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {"include_sequence": [], "aux_report": []}
    for w in words:
        param, value = INCLUDE[w]
        out[param].append(value)
    out["include_sequence"] = out["include_sequence"] or ["NONE"]
    return out


def _whole(name: str, value, least: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise ParameterError(f"{name} must be a whole number of at least {least}, not "
                             f"{value!r}", name)
    return value


def _db_path(db) -> Path:
    if not isinstance(db, str | os.PathLike):
        raise ParameterError(f"db must be a file path, not {type(db).__name__}", "db")
    path = Path(db).expanduser()
    if path.is_dir():
        raise ParameterError(f"db: {path} is a directory; give a file such as "
                             f"{path / 'warehouse.duckdb'}", "db")
    if not path.parent.is_dir():
        raise ParameterError(f"db: the folder {path.parent} does not exist; create it first",
                             "db")
    if path.is_file() and path.stat().st_size:
        with open(path, "rb") as fh:
            head = fh.read(16)
        if head[8:12] != b"DUCK":
            raise ParameterError(
                f"db: {path} is not a DuckDB database file; give a new file name (it is "
                "created) or an existing vpkg warehouse", "db")
    return path


def report_rows(records: list[dict]) -> pa.Table:
    """``genomes`` rows of package-keyed (camelCase) data reports, e.g. from a listing.

    >>> report_rows([{"accession": "NC_045512.2"}]).column("accession").to_pylist()
    ['NC_045512.2']
    """
    import pyarrow as pa

    from vpkg.readers.report import batches
    from vpkg.schema import schema

    data = b"".join(json.dumps(r, separators=(",", ":")).encode() + b"\n" for r in records)
    stream = io.BytesIO(data)
    return pa.Table.from_batches(list(batches(stream, "listed reports", 1 << 16)),
                                 schema("genomes"))


def superseded(accessions: set[str], newer: set[str]) -> set[str]:
    """The accessions of which ``newer`` holds a higher version.

    >>> sorted(superseded({"FJ944023.1", "MH481856.1"}, {"FJ944023.2"}))
    ['FJ944023.1']
    """
    latest: dict[str, int] = {}
    for acc in newer:
        stem, _, version = acc.rpartition(".")
        if stem and version.isdigit():
            latest[stem] = max(latest.get(stem, 0), int(version))
    out = set()
    for acc in accessions:
        stem, _, version = acc.rpartition(".")
        if stem in latest and version.isdigit() and int(version) < latest[stem]:
            out.add(acc)
    return out


@dataclass
class _Run:
    path: Path
    taxa: list[str]
    filters: dict
    scope: str
    lag: int
    full_every: int
    chunk: int
    page_size: int
    download_request: DownloadRequest
    dry_run: bool
    progress: bool | None
    base: str
    key: str | None
    policy: RetryPolicy | None

    def go(self) -> SyncResult:
        from vpkg.fetch.listing import ListingStats
        from vpkg.fetch.session import Client, RetryPolicy

        self.result = SyncResult(scope=self._label(), dry_run=self.dry_run)
        self.stats = ListingStats()
        self.started = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        self.client = Client(self.base, self.key, self.policy or RetryPolicy())
        created = not self.path.exists()
        self.committed = 0
        con = self._connect()
        try:
            self._plan(con)
            if not self.dry_run:
                self._download(con)
                self._finish(con)
        except BaseException:
            if created and not self.committed and not self.dry_run:
                con.close()  # a warehouse this run created and filled with nothing: removed
                for leftover in (self.path, self.path.with_name(self.path.name + ".wal")):
                    leftover.unlink(missing_ok=True)
            raise
        finally:
            self.client.close()
            con.close()
            self.result.requests = self.stats.requests + getattr(self, "download_requests", 0)
        return self.result

    def _label(self) -> str:
        names = ", ".join(self.taxa)
        return f"sync {'taxa' if len(self.taxa) > 1 else 'taxon'} {names}"

    # ---- the database -----------------------------------------------------------------
    def _connect(self) -> duckdb.DuckDBPyConnection:
        import duckdb

        from vpkg.sinks.syncstate import check_version, prepare
        from vpkg.sinks.warehouse import connection

        if self.dry_run:
            if not self.path.exists():
                con = duckdb.connect()
            else:
                try:
                    con = duckdb.connect(os.fspath(self.path), read_only=True)
                except duckdb.Error as exc:
                    raise VpkgError(f"{self.path}: cannot open the DuckDB database "
                                    f"({str(exc).splitlines()[0]})") from None
                check_version(con, str(self.path))
                return con
            prepare(con)
            return con
        con, _ = connection(os.fspath(self.path))
        try:
            prepare(con, str(self.path))
        except BaseException:
            con.close()
            raise
        return con

    def _has(self, con, table: str) -> bool:
        from vpkg.sinks.syncstate import existing_tables

        return table in existing_tables(con)

    def _set(self, con, sql: str, params=()) -> set[str]:
        return {r[0] for r in con.execute(sql, list(params)).fetchall()}

    # ---- 1 and 2: listing and the plan --------------------------------------------------
    def _plan(self, con) -> None:
        scope = self.scope
        have_state = self._has(con, "sync_members")
        members = dict(con.execute(
            "SELECT accession, status FROM sync_members WHERE scope = ?", [scope]
        ).fetchall()) if have_state else {}
        active = {a for a, s in members.items() if s == "active"}
        pending = self._set(con, "SELECT accession FROM sync_pending WHERE scope = ?",
                            [scope]) if have_state else set()
        cursor = None
        if have_state:
            # the start of the last run whose plan was committed: its changes are either
            # downloaded or in sync_pending (the cursor of the last finished run is older)
            row = con.execute("SELECT coalesce(planned_at, cursor) FROM sync_scopes "
                              "WHERE scope = ?", [scope]).fetchall()
            cursor = row[0][0] if row else None

        # records dated after the last run's start, and the lag window: what is in the window
        # now but was not at the last planned run was updated, or published late, since
        # (the window reaches back from the last run's start, so runs skipped are covered)
        start = cursor if cursor is not None else self.started
        window = self._list_accessions(start - dt.timedelta(days=self.lag), "window")
        recent = self._list_accessions(cursor, "updated") if cursor is not None else set()
        listed = self._scope_listing(con, active | pending, window)
        self.result.listed = len(listed)
        if not listed and active:
            raise DownloadError(
                f"{self.result.scope}: NCBI lists no records for this scope, which holds "
                f"{len(active):,}; nothing was withdrawn (if the taxon really is empty now, "
                "sync into a new --db)")
        last_window = self._set(con, "SELECT accession FROM sync_window WHERE scope = ?",
                                [scope]) if self._has(con, "sync_window") else set()
        changed = (recent | (window - last_window)) & active & listed
        self.window = window & listed
        reports: dict[str, dict] = {}
        live = self._set(con, "SELECT accession FROM genomes") if self._has(con, "genomes") \
            else set()
        gone_rows = self._set(con, "SELECT accession FROM withdrawn_genomes") \
            if self._has(con, "withdrawn_genomes") else set()
        new = listed - active
        known_new = (new & (live | gone_rows)) - pending
        if known_new:
            for record in self._list_complete(sorted(known_new)):
                if record.get("accession") in known_new:
                    reports[record["accession"]] = record
        returning = new & gone_rows - live
        differ = self._differ(con, reports, returning)
        download = (new - live - returning) | changed | differ | (pending & listed)
        adopt = (new & live) - download
        restore = returning
        gone = active - listed
        self.result.added = len(new)
        self.result.updated = len((active & listed) & download)
        self.result.unchanged = len((active & listed) - download)
        self.result.withdrawn = len(gone)
        self.result.restored = len(restore)
        self.result.adopted = len(adopt)
        self.result.download = sorted(download)
        self.result.chunks = -(-len(download) // self.chunk)
        self.result.bytes = self.stats.bytes
        self.gone, self.active_before = gone, active
        if self.dry_run:
            return
        self._commit_plan(con, restore, adopt, download, pending, new)

    def _scope_listing(self, con, before: set[str], window: set[str]) -> set[str]:
        """Every accession of the scope: listed in full, or derived when a count proves it.

        The records outside the lag window change only by withdrawals and by records that
        appear late with an old update date; both change the scope's count. So, between full
        listings (at most ``full_listing_days`` apart), the scope is taken to be the last
        run's records, less those the window shows superseded by a new version, plus the
        window, when NCBI's count of the scope (one request) equals that set's size. Any
        other count, a scope of several taxa (they may overlap), or a first run: listed in
        full. A withdrawal and a late record on the same day cancel out in the count; the
        next full listing finds both.
        """
        self.result.listed_in_full = True
        if before and len(self.taxa) == 1 and not self._full_listing_due(con):
            from vpkg.fetch.listing import count_reports, make_query

            query = make_query(self.taxa[0], returned_content="ACCESSIONS_ONLY",
                               page_size=self.page_size, **self.filters)
            counted = count_reports(self.client, query, self.stats)
            derived = (before - superseded(before, window)) | window
            if counted == len(derived):
                self.result.listed_in_full = False
                return derived
        return self._list_accessions()

    def _full_listing_due(self, con) -> bool:
        from vpkg.sinks.syncstate import full_listed_at

        if self.full_every == 0:
            return True
        last = full_listed_at(con, self.scope)
        return last is None or self.started - last >= dt.timedelta(days=self.full_every)

    def _list_accessions(self, updated_since=None, what: str = "listing") -> set[str]:
        """Accessions of the scope (updated since ``updated_since``, when given)."""
        from vpkg.fetch.listing import iter_reports, make_query

        listed: set[str] = set()
        extra = {} if updated_since is None else {"updated_since": updated_since}
        for taxon in self.taxa:
            query = make_query(taxon, returned_content="ACCESSIONS_ONLY",
                               page_size=self.page_size, **self.filters, **extra)
            with self._bar(f"{what} {taxon}") as on_page:
                for record in iter_reports(self.client, query, self.stats, on_page):
                    if isinstance(record.get("accession"), str):
                        listed.add(record["accession"])
        return listed

    def _list_complete(self, accessions: list[str]):
        from vpkg.fetch.listing import iter_reports, make_query

        query = make_query(accessions=accessions, page_size=self.page_size)
        with self._bar(f"reports of {len(accessions):,} known records") as on_page:
            yield from iter_reports(self.client, query, self.stats, on_page)

    def _bar(self, label: str):
        from contextlib import contextmanager

        from vpkg import progress as progress_bars

        @contextmanager
        def bar():
            with progress_bars.bar(None, label, self.progress, unit="records") as b:
                state = {"total": None}

                def on_page(n: int, total: int | None) -> None:
                    if total is not None and state["total"] is None:
                        state["total"] = total
                        b.reset(total)
                    b.update(n)

                yield on_page

        return bar()

    def _differ(self, con, reports: dict[str, dict], returning: set[str]) -> set[str]:
        """Accessions whose listed report differs from the stored ``genomes`` row."""
        if not reports:
            return set()
        table = report_rows(list(reports.values()))
        con.register("_vpkg_sync_reports", table)
        try:
            stored = "SELECT * FROM genomes"
            if returning and self._has(con, "withdrawn_genomes"):
                stored += (" UNION ALL SELECT * EXCLUDE (withdrawn_on) FROM withdrawn_genomes "
                           "WHERE accession NOT IN (SELECT accession FROM genomes)")
            rows = con.execute(
                f"SELECT accession FROM (SELECT * FROM _vpkg_sync_reports EXCEPT "
                f"SELECT s.* FROM ({stored}) s SEMI JOIN _vpkg_sync_reports r "
                f"USING (accession))").fetchall()
        finally:
            con.unregister("_vpkg_sync_reports")
        return {r[0] for r in rows}

    def _commit_plan(self, con, restore, adopt, download, pending, new) -> None:
        from vpkg.sinks import syncstate

        today = self.started.date()
        con.begin()
        try:
            con.execute(
                "INSERT INTO sync_scopes (scope, taxa, filters, include, created_at) "
                "SELECT ?, ?, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM sync_scopes "
                "WHERE scope = ?)",
                [self.scope, self.taxa, json.dumps(json.loads(self.scope)["filters"]),
                 ",".join(json.loads(self.scope)["include"]), self.started, self.scope])
            if restore:
                syncstate.restore(con, restore)
                self._members(con, restore - download, adopted=False, day=today)
            if adopt:
                self._members(con, adopt, adopted=True, day=today)
            con.execute("UPDATE sync_scopes SET planned_at = ? WHERE scope = ?",
                        [self.started, self.scope])
            con.execute("DELETE FROM sync_window WHERE scope = ?", [self.scope])
            tmp = syncstate.with_accessions(con, self.window)
            con.execute(f"INSERT INTO sync_window SELECT ?, accession FROM {tmp}", [self.scope])
            con.execute("DELETE FROM sync_pending WHERE scope = ?", [self.scope])
            if download:
                tmp = syncstate.with_accessions(con, download)
                con.execute(f"INSERT INTO sync_pending SELECT ?, accession FROM {tmp}",
                            [self.scope])
            con.commit()
        except BaseException:
            con.rollback()
            raise

    def _members(self, con, accessions, adopted: bool, day: dt.date) -> None:
        from vpkg.sinks.syncstate import with_accessions

        tmp = with_accessions(con, accessions)
        con.execute(f"INSERT OR REPLACE INTO sync_members SELECT ?, accession, 'active', ?, ? "
                    f"FROM {tmp}", [self.scope, adopted, day])

    # ---- 3: downloads -----------------------------------------------------------------
    def _download(self, con) -> None:
        from dataclasses import replace

        from vpkg.fetch.transfer import fetch
        from vpkg.package import open_package

        todo = self.result.download
        self.download_requests = 0
        chunks = [todo[i:i + self.chunk] for i in range(0, len(todo), self.chunk)]
        for number, accessions in enumerate(chunks, start=1):
            request = replace(self.download_request, accessions=tuple(accessions))
            method, url, body = request.post(self.base)
            fd, name = tempfile.mkstemp(dir=self.path.parent,
                                        prefix=f".{self.path.name}.sync{number}of{len(chunks)}.",
                                        suffix=".zip")
            os.close(fd)
            tmp = Path(name)
            try:
                self.client.restart_budget()
                try:
                    fetch(self.client, method, url, body, tmp, self.progress)
                except DownloadError as exc:
                    raise DownloadError(
                        f"{self.result.scope}: chunk {number} of {len(chunks)} failed: {exc}; "
                        f"{number - 1} chunk(s) are committed; run the same sync again to "
                        "finish", status=exc.status, ncbi_message=exc.ncbi_message) from exc
                finally:
                    self.download_requests += self.client.used
                self.result.bytes += tmp.stat().st_size
                with open_package(tmp) as pkg:
                    wanted = set(accessions)
                    got = self._accessions_of(pkg) & wanted

                    def mark(c, got=got):
                        self._members(c, got, adopted=False, day=self.started.date())
                        c.execute("DELETE FROM sync_pending WHERE scope = ? AND accession IN "
                                  "(SELECT accession FROM _vpkg_sync_acc)", [self.scope])

                    pkg.load_into(con, verify=False, force=True, progress=False,
                                  before_commit=mark)
                    self.committed += 1
            finally:
                tmp.unlink(missing_ok=True)

    @staticmethod
    def _accessions_of(pkg) -> set[str]:
        if "genomes" not in pkg.tables():
            return set()
        return set(pkg.table("genomes").column("accession").to_pylist())

    # ---- 4: withdrawals and the cursor --------------------------------------------------
    def _finish(self, con) -> None:
        from vpkg.sinks import syncstate

        today = self.started.date()
        con.begin()
        try:
            if self.gone:
                tmp = syncstate.with_accessions(con, self.gone)
                con.execute("UPDATE sync_members SET status = 'withdrawn', since = ? WHERE "
                            f"scope = ? AND accession IN (SELECT accession FROM {tmp})",
                            [today, self.scope])
                # rows move when no scope lists the record any more and a sync brought it
                # in (a record only ever adopted from `vpkg load` stays where it is)
                movable = self._set(
                    con, f"SELECT accession FROM {tmp} WHERE accession NOT IN (SELECT "
                    "accession FROM sync_members WHERE status = 'active') AND accession IN "
                    "(SELECT accession FROM sync_members WHERE NOT adopted)")
                syncstate.withdraw(con, movable, today)
            finished = dt.datetime.now(dt.UTC).replace(tzinfo=None)
            con.execute("UPDATE sync_scopes SET cursor = ?, last_run_at = ? WHERE scope = ?",
                        [self.started, finished, self.scope])
            if self.result.listed_in_full:
                con.execute("UPDATE sync_scopes SET full_listed_at = ? WHERE scope = ?",
                            [self.started, self.scope])
            r = self.result
            con.execute("INSERT INTO sync_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        [self.scope, self.started, finished, r.listed, r.added, r.updated,
                         r.withdrawn, r.unchanged, r.bytes,
                         self.stats.requests + self.download_requests])
            con.commit()
        except BaseException:
            con.rollback()
            raise


class _CallableModule(type(os)):
    """This module, callable as `sync`: ``import vpkg.sync`` binds the *module* to
    ``vpkg.sync``, which must stay callable as the contract's ``vpkg.sync(db, ...)``."""

    def __call__(self, *args, **kwargs) -> SyncResult:
        return sync(*args, **kwargs)


import sys as _sys  # noqa: E402

_sys.modules[__name__].__class__ = _CallableModule
