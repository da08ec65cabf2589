"""Detection's errors: typed, so callers and the CLI tell bad input from a missing backend.

Each subclasses the project-wide kind (``InputError``, ``ConfigError``) as well, so one line on
stderr and the exit status stay what they were for every existing caller.
"""

from __future__ import annotations

from custodes.errors import ConfigError, CustodesError, InputError


class DetectError(CustodesError):
    """Base for every error detection raises on a user-facing path."""


class DetectInputError(DetectError, InputError):
    """A dataset folder, a record, a dispositions file or an option is malformed."""


class BackendError(DetectError, ConfigError):
    """The chosen engine is unknown, not installed, or cannot score these inputs."""
