"""The attacks reuse the one-door fixtures: a marketplace with one employee per role."""

from tests.support.api import api  # noqa: F401  (a fixture, shared)
from tests.support.identity import provider  # noqa: F401  (the api's identity provider)
