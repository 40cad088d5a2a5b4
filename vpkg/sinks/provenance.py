"""Where exported or loaded data came from: the package file, its md5, apiVersion, vpkg version.

>>> import vpkg
>>> from vpkg.sinks.provenance import provenance
>>> provenance(vpkg.open_package("fixtures/real/Rotavirus_J.zip"))["vpkg.api_version"]
'V2'
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from vpkg.package import CHUNK

if TYPE_CHECKING:  # pragma: no cover
    from vpkg.package import Package


def package_md5(pkg: Package, digests: dict[str, str] | None = None) -> str:
    """The md5 of the package: of the zip file's bytes, or for an extracted directory of its
    member listing (``<member md5>  <member path>`` lines in path order, as in md5sum.txt).
    ``digests`` are member md5s already computed (`Package.verify` returns them).
    """
    digest = hashlib.md5()
    if pkg.path.is_file():
        with open(pkg.path, "rb") as fh:
            while chunk := fh.read(CHUNK):
                digest.update(chunk)
        return digest.hexdigest()
    digests = digests or {}
    for member in sorted(pkg.members()):
        one = digests[member] if member in digests else pkg.member_md5(member)
        digest.update(f"{one}  {member}\n".encode())
    return digest.hexdigest()


def provenance(pkg: Package, md5: str | None = None) -> dict[str, str]:
    """Key-value metadata naming the source: file name, its md5, apiVersion, vpkg version.

    The file is recorded by name only, so that exports do not carry local directory names.
    """
    from vpkg import __version__

    return {
        "vpkg.package_file": pkg.path.name,
        "vpkg.package_md5": md5 if md5 is not None else package_md5(pkg),
        "vpkg.api_version": pkg.api_version or "",
        "vpkg.version": __version__,
    }
