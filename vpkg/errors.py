"""Every error vpkg raises on purpose: one base class, caught once by the command line.

Each message says what was wrong, where (file, member, line, parameter) and what to do.
"""

from __future__ import annotations


class VpkgError(Exception):
    """Base class of every deliberate vpkg error."""


class PackageError(VpkgError):
    """The file or directory is not a readable NCBI Datasets package (not a zip, truncated...)."""


class MemberNotFoundError(VpkgError, KeyError):
    """The package lacks the member a table or operation needs."""

    def __init__(self, message: str, member: str | None = None):
        super().__init__(message)
        self.member = member

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class FormatError(VpkgError):
    """A member's content does not parse: carries the member and the line or record number."""

    def __init__(self, message: str, member: str | None = None, line: int | None = None):
        super().__init__(message)
        self.member = member
        self.line = line


class IntegrityError(VpkgError):
    """A checksum did not match: a zip CRC, or an md5 listed in md5sum.txt."""

    def __init__(self, message: str, member: str | None = None):
        super().__init__(message)
        self.member = member


class ParameterError(VpkgError, ValueError):
    """A parameter given to vpkg has a value it cannot accept."""

    def __init__(self, message: str, parameter: str | None = None):
        super().__init__(message)
        self.parameter = parameter


class DownloadError(VpkgError):
    """A download failed: carries the HTTP status (if any) and NCBI's message."""

    def __init__(self, message: str, status: int | None = None, ncbi_message: str | None = None):
        super().__init__(message)
        self.status = status
        self.ncbi_message = ncbi_message
