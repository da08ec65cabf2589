"""The access suite's marketplace and app (one employee per role, two customers, cases)."""

from tests.support.api import Api, api  # noqa: F401
from tests.support.identity import provider  # noqa: F401
from tests.support.marketplace import seed  # noqa: F401

__all__ = ["Api"]
