"""Fixtures for identity tests: a real JWKS served on loopback, keys made here, employees."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from .idp import Provider, ProviderKey, make_key, running_provider
from .worlds import World, add_employees, make_world


@pytest.fixture
def provider() -> Iterator[Provider]:
    with running_provider() as running:
        yield running


@pytest.fixture
def world(engine: Engine) -> World:
    """Four employees (E0006 suspended), the service on a fake clock, a checking ledger."""
    return make_world(engine)


__all__ = ["Provider", "ProviderKey", "add_employees", "make_key", "world"]
