"""Integrity and provenance: ``md5sum.txt``, zip CRCs, member and package md5s.

A zip member's CRC is checked by reading it to the end; its md5 is compared with
``md5sum.txt`` when the package has one.

>>> from vpkg.container import open_container
>>> with open_container("fixtures/real/Rotavirus_J.zip") as c:
...     len(verify(c)), provenance(c)["vpkg.api_version"]
(6, 'V2')
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from vpkg.container import MD5SUMS, READ_ERRORS
from vpkg.errors import FormatError, IntegrityError

if TYPE_CHECKING:  # pragma: no cover
    from vpkg.container import Container


def md5sums(container: Container) -> dict[str, str]:
    """The md5 of each member listed in ``md5sum.txt`` (empty when there is none)."""
    if MD5SUMS not in container.members():
        return {}
    sums: dict[str, str] = {}
    with container.open_member(MD5SUMS) as fh:
        for number, raw in enumerate(fh, start=1):
            line = raw.decode("utf-8", "replace").strip()
            if not line:
                continue
            digest, _, name = line.partition(" ")
            name = name.strip().lstrip("*")
            if len(digest) != 32 or not name:
                raise FormatError(
                    f"{container.path}: {MD5SUMS} line {number} is not '<md5>  <path>': "
                    f"{line[:80]!r}",
                    member=MD5SUMS,
                    line=number,
                )
            sums[name] = digest.lower()
    return sums


def verify(container: Container) -> dict[str, str]:
    """Check every zip CRC and every md5 in ``md5sum.txt``; the md5 of every member.

    Raises `IntegrityError` naming the first member whose CRC or md5 does not match, or that
    ``md5sum.txt`` lists but the package lacks.
    """
    expected = md5sums(container)
    names = container.members()
    for name in expected:
        if name not in names:
            raise IntegrityError(
                f"{container.path}: md5sum.txt lists {name}, which the package lacks; "
                "the download is incomplete, download it again",
                member=name,
            )
    digests = {}
    for name in names:
        digests[name] = member_md5(container, name)
        if name in expected and digests[name] != expected[name]:
            raise IntegrityError(
                f"{container.path}: {name} has md5 {digests[name]}, but md5sum.txt says "
                f"{expected[name]}; the file is corrupt, download it again",
                member=name,
            )
    return digests


def member_md5(container: Container, member: str) -> str:
    """The md5 of a member's content; `IntegrityError` when the member is damaged."""
    try:
        with container.open_member(member) as fh:
            return hashlib.file_digest(fh, "md5").hexdigest()
    except READ_ERRORS as exc:
        raise IntegrityError(
            f"{container.path}: {member} is corrupt ({exc}); download the package again",
            member=member,
        ) from exc


def package_md5(container: Container, digests: dict[str, str] | None = None) -> str:
    """The md5 of the package: of the zip file's bytes, or for a folder of its member
    listing (``<member md5>  <member path>`` lines in path order, as in md5sum.txt).
    ``digests`` are member md5s already computed (`verify` returns them).
    """
    if container.is_zip:
        with open(container.path, "rb") as fh:
            return hashlib.file_digest(fh, "md5").hexdigest()
    digests = digests or {}
    digest = hashlib.md5()
    for member in sorted(container.members()):
        one = digests[member] if member in digests else member_md5(container, member)
        digest.update(f"{one}  {member}\n".encode())
    return digest.hexdigest()


def provenance(container: Container, md5: str | None = None) -> dict[str, str]:
    """Key-value metadata naming the source: file name, its md5, apiVersion, vpkg version.

    The file is recorded by name only, so that exports do not carry local directory names.
    """
    from vpkg.version import __version__

    return {
        "vpkg.package_file": container.path.name,
        "vpkg.package_md5": md5 if md5 is not None else package_md5(container),
        "vpkg.api_version": container.api_version or "",
        "vpkg.version": __version__,
    }
