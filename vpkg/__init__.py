"""vpkg: NCBI Datasets virus genome data packages as Apache Arrow tables.

>>> import vpkg
>>> pkg = vpkg.open_package("fixtures/real/sars-cov-2_NC_045512.2_2026.zip")
>>> pkg.tables()
['genomes', 'genome_sequences']
>>> pkg.table("genomes").column("accession").to_pylist()
['NC_045512.2']

Heavy modules (pyarrow readers, DuckDB, requests) load on first use, so that
``import vpkg`` stays quick.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

from vpkg.errors import (
    DownloadError,
    FormatError,
    IntegrityError,
    MemberNotFoundError,
    PackageError,
    ParameterError,
    VpkgError,
)
from vpkg.version import __version__

# public name -> module that defines it, imported on first access
_LAZY = {
    "open_package": "vpkg.package",
    "Package": "vpkg.package",
    "download": "vpkg.fetch",
    "load": "vpkg.package",
    "sync": "vpkg.sync",
}

__all__ = [
    "DownloadError",
    "FormatError",
    "IntegrityError",
    "MemberNotFoundError",
    "PackageError",
    "ParameterError",
    "VpkgError",
    "__version__",
    "open_package",
    "Package",
    "download",
    "load",
    "sync",
]

if TYPE_CHECKING:  # pragma: no cover
    from vpkg.fetch import download
    from vpkg.package import Package, load, open_package
    from vpkg.sync import sync


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'vpkg' has no attribute {name!r}")
