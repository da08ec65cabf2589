"""Errors of the evaluation commands: bad files handed to ``custodes eval``."""

from __future__ import annotations

from custodes.errors import InputError


class AlertsFileError(InputError):
    """An alerts file cannot be read or holds a line that is not an alert."""
