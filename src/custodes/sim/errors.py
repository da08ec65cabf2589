"""Errors of the simulator: a world that cannot be built as asked (a user can act on them)."""

from __future__ import annotations

from custodes.errors import InputError


class SimError(InputError, ValueError):
    """The simulator was asked for something it cannot build (sizes, kinds, actions, labels).

    Also a ``ValueError``, which is what callers written before this class caught.
    """


class NoFreeEmployee(SimError):
    """A scenario found nobody free to play it: the world needs more employees."""
