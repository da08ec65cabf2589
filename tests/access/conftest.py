"""A small marketplace with one employee per role, cases, and an app with the one door."""

from tests.support.api import Api, api  # noqa: F401  (the fixture)
from tests.support.identity import provider  # noqa: F401  (the api's identity provider)
from tests.support.marketplace import CUSTOMERS, OPEN, T0, seed  # noqa: F401
