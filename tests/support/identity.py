"""The identity provider and employees every test package uses: a real JWKS (and the
authorization code flow) served on loopback by `tests.support.idp`, keys made here."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.identity_worlds import add_employees
from tests.support.idp import Provider, ProviderKey, make_key, running_provider


@pytest.fixture
def provider() -> Iterator[Provider]:
    with running_provider() as running:
        yield running


__all__ = ["Provider", "ProviderKey", "add_employees", "make_key", "provider", "running_provider"]
