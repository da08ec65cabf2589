"""User-facing errors: each message says what went wrong and what to do, and never carries PII."""


class CustodesError(Exception):
    """Base for errors a user can act on; the CLI prints them as one line on stderr."""


class ConfigError(CustodesError):
    """Settings or key material are missing or invalid."""


class InputError(CustodesError):
    """Bad user input (dataset file, argument); nothing was written."""
