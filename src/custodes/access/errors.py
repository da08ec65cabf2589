"""The access package's errors; each category (and so its HTTP status) comes from
`custodes.errors`, so a new error cannot be mapped to a status in a second place."""

from __future__ import annotations

from custodes.errors import ConflictError, ForbiddenError, NotFoundError


class NotFound(NotFoundError):
    """The request or record does not exist (or is not visible to this caller)."""


class Forbidden(ForbiddenError):
    """The actor may not do this (recorded as a refusal where it concerns the record)."""


class Conflict(ConflictError):
    """The request is not in a state that allows this (approved twice, executed twice, …)."""
