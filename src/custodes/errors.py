"""User-facing errors: each message says what went wrong and what to do, and never carries PII.

Every package's errors subclass one of these categories, and the category carries the HTTP
status: the one place where errors map to statuses (`custodes.problems` answers with it). The
CLI prints any of them as one line on stderr.
"""


class CustodesError(Exception):
    """Base for errors a user can act on; the CLI prints them as one line on stderr.

    An error that names no category is ours to fix, and its message stays out of the answer."""

    status = 500


class ConfigError(CustodesError):
    """Settings or key material are missing or invalid."""

    status = 500


class InputError(CustodesError):
    """Bad user input (dataset file, argument); nothing was written."""

    status = 400


class NotFoundError(InputError):
    """The named record does not exist, or is not visible to this caller."""

    status = 404


class UnauthenticatedError(CustodesError):
    """No valid credential: the caller must prove who it is."""

    status = 401


class ForbiddenError(CustodesError):
    """The caller is known but may not do this."""

    status = 403


class ConflictError(CustodesError):
    """The record is not in a state that allows this (decided twice, raced)."""

    status = 409


class GoneError(CustodesError):
    """The data existed and was deliberately destroyed (crypto-shredding)."""

    status = 410


class UnavailableError(CustodesError):
    """A dependency (the ledger, a witness) cannot do its part now: nothing happened."""

    status = 503
