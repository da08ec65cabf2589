"""Fixtures for identity tests: a real JWKS served on loopback, keys made here, employees; a
headless browser for the passkey pages."""

from tests.support.browser import browser  # noqa: F401
from tests.support.identity import provider  # noqa: F401
