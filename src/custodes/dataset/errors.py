"""Errors of the dataset format: a file, or one of its lines, breaks the format's rules."""

from __future__ import annotations

from custodes.errors import InputError


class DatasetError(InputError):
    """A dataset file is malformed; the message names the file and line (never a PII value)."""

    def __init__(self, file: str, line: int, problem: str) -> None:
        super().__init__(f"{file}:{line}: {problem}")
        self.file, self.line, self.problem = file, line, problem


class DatasetFileError(InputError):
    """A whole file or folder is unusable (missing, not a folder); the message names it."""


class ImportRefused(InputError):
    """The database refused rows the format allows (e.g. a constraint); nothing was written.
    The message names the file (and line when one row is to blame), never the driver's text."""
