"""Forensics' typed errors: messages name what to fix and never carry an address."""

from __future__ import annotations

from custodes.errors import CustodesError, InputError


class ForensicsError(CustodesError):
    """Base of forensics' errors."""


class ForensicsInputError(ForensicsError, InputError):
    """A bad argument or leaked-list file; nothing was written."""


class CanaryIntakeError(ForensicsError):
    """The canary intake cannot start or record (bad address, no database)."""
