"""Fixtures for identity tests: a real JWKS served on loopback, keys made here, employees; a
headless browser for the passkey pages."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from tests.support.browser import browser  # noqa: F401
from tests.support.identity import provider  # noqa: F401
from tests.support.identity_worlds import World, make_world


@pytest.fixture
def world(engine: Engine) -> World:
    """Four employees (E0006 suspended), the service on a fake clock, a checking ledger."""
    return make_world(engine)
