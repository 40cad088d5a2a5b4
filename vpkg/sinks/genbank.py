"""GenBank flat files from sequence tables: Arrow rows as Biopython ``SeqRecord`` objects.

`records_from_stream` turns any Arrow stream of a sequence table (``genome_sequences``,
``cds_sequences``, ``protein_sequences``: a `pyarrow.RecordBatchReader`, or any object with
``__arrow_c_stream__``) into ``SeqRecord`` objects, one per row, in order. `write_genbank`
writes records (or such a stream) through ``Bio.SeqIO``, streaming, to a temporary file beside
the destination that is renamed when complete.

Biopython is an optional dependency (``pip install 'vpkg[bio]'``); `require_biopython` raises
a `VpkgError` saying so when it is missing.

>>> import tempfile, vpkg
>>> from pathlib import Path
>>> pkg = vpkg.open_package("fixtures/constructed/sars-cov-2_all_members.constructed.zip")
>>> path = Path(tempfile.mkdtemp()) / "proteins.gb"
>>> write_genbank(records_from_stream(pkg.reader("protein_sequences"), "protein"), path)
190
>>> from Bio import SeqIO
>>> next(SeqIO.parse(path, "genbank")).id
'QLG76863.1:1-180'
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from vpkg.errors import VpkgError

if TYPE_CHECKING:  # pragma: no cover
    from Bio.SeqRecord import SeqRecord

#: How to install what this module needs, named in the error when Biopython is missing.
INSTALL_HINT = "pip install 'vpkg[bio]'"
#: Rows per batch when this module reads a sequence table itself.
SEQUENCE_BATCH = 256
#: Header fields (``[key=value]``) that are INSDC ``source`` feature qualifiers as they are.
SOURCE_QUALIFIERS = ("organism", "isolate", "strain", "host", "country", "segment",
                     "collection_date", "serotype", "genotype", "lab_host")


def require_biopython(what: str) -> None:
    """Raise a `VpkgError` naming ``what`` and the install command when Biopython is missing.

    >>> require_biopython("the GenBank export")
    """
    try:
        import Bio  # noqa: F401
    except ModuleNotFoundError as exc:
        raise VpkgError(
            f"{what} needs Biopython, which is not installed; install it with: {INSTALL_HINT}"
        ) from exc


def records_from_stream(
    stream: Any, molecule_type: str | None = None
) -> Iterator[SeqRecord]:
    """One ``SeqRecord`` per row of a sequence-table Arrow stream, in order.

    Parameters
    ----------
    stream
        A `pyarrow.RecordBatchReader`, or any object with ``__arrow_c_stream__``, of a table
        with the ``genome_sequences`` columns (``accession``, ``description``, ``sequence``) or
        the ``cds_sequences`` / ``protein_sequences`` columns (``id``, ``name``,
        ``header_fields``, ...).
    molecule_type
        The ``molecule_type`` annotation: ``"protein"`` for ``protein_sequences`` (the schema
        alone does not tell proteins from CDS); default ``"DNA"``, the letters of
        ``genomic.fna`` and ``cds.fna``.

    Returns
    -------
    Iterator[SeqRecord]
        ``id`` and ``name`` are the sequence id (``accession``, or ``id`` such as
        ``MT745738.1:254-13471``), ``description`` the rest of the header. Records of a CDS or
        protein table carry their header fields: ``annotations["organism"]``, a ``source``
        feature with the fields that are INSDC qualifiers (others in ``/note``), and a ``CDS``
        or ``Protein`` feature over the whole sequence with ``/product`` (the title).

    Examples
    --------
    >>> import vpkg
    >>> pkg = vpkg.open_package("fixtures/constructed/sars-cov-2_all_members.constructed.zip")
    >>> rec = next(records_from_stream(pkg.reader("cds_sequences")))
    >>> rec.id, len(rec), rec.features[1].qualifiers["product"]
    ('MT745738.1:254-13456,13456-21543', 21291, ['ORF1ab polyprotein'])
    """
    require_biopython("GenBank records")
    # a RecordBatchReader is read as it is: re-wrapped, its VpkgError would turn into text
    reader = stream if isinstance(stream, pa.RecordBatchReader) else (
        pa.RecordBatchReader.from_stream(stream))
    names = set(reader.schema.names)
    protein = molecule_type == "protein"
    for batch in _batches(reader):
        columns = {n: batch.column(n).to_pylist() for n in batch.schema.names if n != "sequence"}
        sequences = batch.column("sequence")
        for i in range(batch.num_rows):
            row = {n: values[i] for n, values in columns.items()}
            row["sequence"] = sequences[i].as_py()
            if "id" in names:
                yield _header_record(row, molecule_type or "DNA", protein)
            else:
                yield _genome_record(row, molecule_type or "DNA")


def write_genbank(records: Iterable[SeqRecord] | Any, path: str | os.PathLike) -> int:
    """Write records, or a sequence-table Arrow stream, to a GenBank file; return the count.

    The file is written through ``Bio.SeqIO`` record by record to a hidden temporary file in
    the same folder, and renamed to ``path`` only when every record is written: on an error
    nothing is left behind and an earlier file at ``path`` stays as it was.

    Parameters
    ----------
    records
        ``SeqRecord`` objects (each with a ``molecule_type`` annotation), or an Arrow stream
        that `records_from_stream` accepts.
    path
        The ``.gb`` file to write.
    """
    require_biopython("the GenBank export")
    from Bio import SeqIO

    if isinstance(records, pa.RecordBatchReader) or hasattr(records, "__arrow_c_stream__"):
        records = records_from_stream(records)
    target = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise VpkgError(f"{target}: cannot write here ({exc.strerror or exc}); check the "
                        "folder exists and is writable") from exc
    try:
        with os.fdopen(fd, "w", encoding="ascii", errors="replace", newline="\n") as out:
            count = SeqIO.write(records, out, "genbank")
        os.replace(tmp, target)
    except OSError as exc:
        raise VpkgError(f"{target}: cannot write the GenBank file ({exc.strerror or exc}); "
                        "check the folder's permissions and free space") from exc
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return count


# ---- records ---------------------------------------------------------------------------------


def _batches(reader: pa.RecordBatchReader) -> Iterator[pa.RecordBatch]:
    """The reader's batches; an error of a foreign stream becomes one `VpkgError` line."""
    try:
        yield from reader
    except pa.ArrowException as exc:
        message = str(exc).split(" Detail:", 1)[0].removeprefix("Unknown error: ")
        raise VpkgError(f"reading the sequence table failed: {message}") from exc


def _genome_record(row: dict, molecule_type: str) -> SeqRecord:
    from Bio.Seq import Seq
    from Bio.SeqRecord import SeqRecord

    accession = row["accession"]
    return SeqRecord(Seq(row["sequence"] or ""), id=accession, name=accession,
                     description=row.get("description") or "",
                     annotations={"molecule_type": molecule_type})


def _header_record(row: dict, molecule_type: str, protein: bool) -> SeqRecord:
    from Bio.Seq import Seq
    from Bio.SeqFeature import SeqFeature, SimpleLocation
    from Bio.SeqRecord import SeqRecord

    seq = row["sequence"] or ""
    fields = dict(row.get("header_fields") or [])
    annotations: dict[str, Any] = {"molecule_type": molecule_type}
    if fields.get("organism"):
        annotations["organism"] = annotations["source"] = fields["organism"]
    record = SeqRecord(Seq(seq), id=row["id"], name=row.get("accession") or row["id"],
                       description=row.get("description") or "", annotations=annotations)
    whole = SimpleLocation(0, len(seq), strand=None if protein else 1)
    qualifiers = {k: [v] for k, v in fields.items() if k in SOURCE_QUALIFIERS}
    notes = [f"{k}: {v}" for k, v in fields.items() if k not in SOURCE_QUALIFIERS]
    if notes:
        qualifiers["note"] = notes
    record.features.append(SeqFeature(whole, type="source", qualifiers=qualifiers))
    product = {"product": [row["name"]]} if row.get("name") else {}
    record.features.append(SeqFeature(whole, type="Protein" if protein else "CDS",
                                      qualifiers=product))
    return record
