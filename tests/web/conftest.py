"""The access suite's marketplace and app (one employee per role, two customers, cases)."""

from tests.access.conftest import Api, api, provider, seed  # noqa: F401

__all__ = ["Api"]
