"""One reader per member kind: ``batches(stream, where, batch_size)`` gives record batches.

A reader knows only a binary stream and a name to put in its errors (``where``): nothing of
zips, HTTP or the package. `vpkg.tables` says which reader reads which table, and
`vpkg.sources` opens the member and runs it.

Importing the readers makes jemalloc pyarrow's default memory pool, unless
``ARROW_DEFAULT_MEMORY_POOL`` names one: with the default mimalloc pool, memory freed by
another thread than the one that allocated it (a block parsed on one thread, written on
another) stayed with the process, and an export of the benchmark package peaked at about
420 MB of memory instead of about 340 (and spent twice the system time).
"""

from __future__ import annotations

import os


def _jemalloc() -> None:
    if os.environ.get("ARROW_DEFAULT_MEMORY_POOL"):
        return
    import pyarrow as pa

    try:
        pa.set_memory_pool(pa.jemalloc_memory_pool())
    except NotImplementedError:  # a pyarrow built without jemalloc keeps its default
        pass


_jemalloc()
