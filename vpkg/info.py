"""What a package holds: members and sizes, apiVersion, tables and row counts, verification,
and whether the data report and ``genomic.fna`` list the same accessions.

>>> import vpkg
>>> info = package_info(vpkg.open_package("fixtures/real/Rotavirus_J.zip"))
>>> [(t.table, t.rows) for t in info.tables], info.verified
([('genomes', 32), ('genome_sequences', 32)], True)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from vpkg.errors import VpkgError
from vpkg.sinks.contents import COLUMNS, Contents, contents, format_contents

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa

    from vpkg.package import Package

#: Accessions shown as examples of a mismatch.
EXAMPLES = 5


@dataclass
class TableInfo:
    """A table: the member it is read from, its row count, or the error reading it."""

    table: str
    member: str
    rows: int | None = None
    error: str | None = None


@dataclass
class AccessionCheck:
    """Accessions in one of ``data_report.jsonl`` / ``genomic.fna`` but not the other."""

    reports_without_sequence: int = 0
    sequences_without_report: int = 0
    examples: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.reports_without_sequence or self.sequences_without_report)


@dataclass
class PackageInfo:
    """Everything `vpkg info` shows."""

    path: str
    api_version: str | None
    members: list[tuple[str, int]]
    tables: list[TableInfo]
    verified: bool | None = None  # None: not checked
    verify_message: str = ""
    accessions: AccessionCheck | None = None
    contents: Contents | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """No verification failure and every table readable."""
        return self.verified is not False and not any(t.error for t in self.tables)


def package_info(pkg: Package, verify: bool = True) -> PackageInfo:
    """Describe ``pkg``, reading every table once (and every member again to verify).

    Errors reading a table or verifying are recorded, not raised.
    """
    info = PackageInfo(
        path=str(pkg.path),
        api_version=pkg.api_version,
        members=[(m, pkg.member_size(m)) for m in pkg.members()],
        tables=[],
    )
    names = {m for m, _ in info.members}
    info.warnings = [
        f"dataset_catalog.json lists {member}, which the package lacks; the package is "
        "incomplete (a member was removed or the download cut short): download it again"
        for member in pkg.catalog_members() if member not in names
    ]
    accessions: dict[str, list[pa.Array]] = {}
    for table in pkg.tables():
        entry = TableInfo(table, pkg.member_for(table), rows=0)
        keep = table in ("genomes", "genome_sequences")
        chunks: list[pa.Array] = []
        described: list[pa.RecordBatch] = []
        try:
            for batch in pkg.reader(table):
                entry.rows += batch.num_rows
                if keep:
                    chunks.append(batch.column("accession"))
                if table == "genomes":
                    described.append(batch.select(COLUMNS))
        except VpkgError as exc:
            entry.rows, entry.error = None, str(exc)
        else:
            if keep:
                accessions[table] = chunks
            if table == "genomes":
                import pyarrow as pa

                from vpkg.schema import schema

                fields = pa.schema([schema("genomes").field(c) for c in COLUMNS])
                info.contents = contents(pa.Table.from_batches(described, fields))
        info.tables.append(entry)
    if len(accessions) == 2:
        info.accessions = _compare(accessions["genomes"], accessions["genome_sequences"])
    if verify:
        try:
            digests = pkg.verify()
        except VpkgError as exc:
            info.verified, info.verify_message = False, str(exc)
        else:
            info.verified = True
            info.verify_message = f"{len(digests)} members read without error, " + (
                f"{len(pkg.md5sums())} md5 from md5sum.txt match" if "md5sum.txt" in names
                else "no md5sum.txt in the package, so no md5 to compare (CRCs only)"
            )
    return info


def _compare(reports: list[pa.Array], sequences: list[pa.Array]) -> AccessionCheck:
    import pyarrow as pa
    import pyarrow.compute as pc

    rep = pa.chunked_array(reports, pa.string())
    seq = pa.chunked_array(sequences, pa.string())
    no_seq = rep.filter(pc.invert(pc.is_in(rep, value_set=seq.combine_chunks())))
    no_rep = seq.filter(pc.invert(pc.is_in(seq, value_set=rep.combine_chunks())))
    examples = no_seq.slice(0, EXAMPLES).to_pylist() + no_rep.slice(0, EXAMPLES).to_pylist()
    return AccessionCheck(len(no_seq), len(no_rep), examples)


def format_info(info: PackageInfo) -> str:
    """`PackageInfo` as the text `vpkg info` prints."""
    lines = [f"package     {info.path}", f"apiVersion  {info.api_version or '(no catalog)'}"]
    lines.append("members")
    width = max((len(m) for m, _ in info.members), default=0)
    for member, size in info.members:
        lines.append(f"  {member.ljust(width)}  {size:>14,} bytes")
    lines.append("tables")
    width = max((len(t.table) for t in info.tables), default=0)
    for t in info.tables:
        count = f"{t.rows:>10,} rows" if t.error is None else f"error: {t.error}"
        lines.append(f"  {t.table.ljust(width)}  {count}  ({t.member.rsplit('/', 1)[-1]})")
    if not info.tables:
        lines.append("  (none)")
    if info.accessions is not None:
        a = info.accessions
        text = "data report and genomic.fna list the same accessions"
        if not a.ok:
            text = (
                f"{a.reports_without_sequence} report(s) without a sequence, "
                f"{a.sequences_without_report} sequence(s) without a report "
                f"(e.g. {', '.join(a.examples)})"
            )
        lines.append(f"accessions  {text}")
    if info.contents is not None:
        lines.append(format_contents(info.contents))
    for warning in info.warnings:
        lines.append(f"warning     {warning}")
    if info.verified is None:
        lines.append("verified    not checked")
    else:
        lines.append(f"verified    {'OK' if info.verified else 'FAILED'}: {info.verify_message}")
    return "\n".join(lines)
