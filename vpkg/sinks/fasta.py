"""FASTA out of any Arrow stream with an id, an optional description and a sequence column.

Written by hand: no library writes FASTA from Arrow batches, and Biopython's writer would
make one SeqRecord per row. Each record is ``>id description`` (``>id`` when the description
is null or empty) and the sequence in lines of ``line_width`` letters (0: one line), every
line ending in ``\\n``, as NCBI writes its ``.fna``/``.faa`` members (70 letters a line). The
sequence letters are written exactly as they are.

>>> import io, pyarrow as pa
>>> buf = io.BytesIO()
>>> rows = write_fasta(pa.table({"id": ["a.1"], "description": [None], "sequence": ["ACGTACG"]}),
...                    buf, line_width=3)
>>> buf.getvalue().decode()
'>a.1\\nACG\\nTAC\\nG\\n'
"""

from __future__ import annotations

from typing import IO, Any

import pyarrow as pa

from vpkg.errors import ParameterError, VpkgError

#: NCBI's line width in genomic.fna, cds.fna and protein.faa.
LINE_WIDTH = 70


def write_fasta(
    stream: Any,
    out: IO[bytes],
    *,
    id_column: str = "id",
    description_column: str | None = "description",
    sequence_column: str = "sequence",
    line_width: int = LINE_WIDTH,
) -> int:
    """Write every row of ``stream`` (anything with ``__arrow_c_stream__``) as FASTA.

    Returns
    -------
    int
        The number of records written.

    Raises
    ------
    ParameterError
        A negative ``line_width``.
    VpkgError
        A row whose id is null or empty, or holds a line break.
    """
    if line_width < 0:
        raise ParameterError(f"--line-width {line_width}: give 0 (one line) or more",
                             parameter="line_width")
    reader = pa.RecordBatchReader.from_stream(stream)
    rows = 0
    for batch in reader:
        ids = batch.column(id_column).to_pylist()
        titles = (batch.column(description_column).to_pylist() if description_column
                  else [None] * batch.num_rows)
        sequences = batch.column(sequence_column).to_pylist()
        parts = []
        for identifier, title, sequence in zip(ids, titles, sequences, strict=True):
            rows += 1
            if not identifier or "\n" in identifier:
                raise VpkgError(f"FASTA record {rows}: the id column {id_column!r} is "
                                f"{identifier!r}; choose an id column that every row has "
                                "(--id-column)")
            parts.append(f">{identifier} {title}\n" if title else f">{identifier}\n")
            if sequence:
                parts.append(_wrap(sequence, line_width))
        out.write("".join(parts).encode())
    return rows


def _wrap(sequence: str, width: int) -> str:
    if width == 0 or len(sequence) <= width:
        return sequence + "\n"
    lines = [sequence[i:i + width] for i in range(0, len(sequence), width)]
    lines.append("")
    return "\n".join(lines)
