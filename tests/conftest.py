"""Fixtures shared by the suite: every database test runs on SQLite AND PostgreSQL.

PostgreSQL tests use a database created for this run (dropped at the end) and a fresh schema per
test, so runs never see each other's data. Set CUSTODES_REQUIRE_PG=1 (as `make test` does) to
turn "PostgreSQL unreachable" into a failure instead of a skip; under CI (CUSTODES_CI=1) the
published vectors beside the checkout are required the same way (see tests/support/vectors.py).
Shared builders live in tests/support/; conftests only turn them into fixtures.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from custodes.store.engine import make_engine
from custodes.store.migrate import upgrade
from custodes.vault.keyring import FileKeyring

PG_ADMIN_URL = os.environ.get(
    "CUSTODES_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def _pg_reachable() -> str | None:
    try:
        engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as exc:  # pragma: no cover - depends on the machine
        return f"{type(exc).__name__}"


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A database of this test run's own, removed afterwards."""
    problem = _pg_reachable()
    if problem:
        if os.environ.get("CUSTODES_REQUIRE_PG") == "1":
            pytest.fail(f"PostgreSQL at {PG_ADMIN_URL} unreachable ({problem})")
        pytest.skip(f"PostgreSQL unreachable ({problem}); set CUSTODES_TEST_PG_URL")
    name = f"custodes_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL to an empty database (not migrated) on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'custodes.db'}"
        return
    database = request.getfixturevalue("pg_database")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(database, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{database}?options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """A migrated engine on each backend."""
    eng = make_engine(db_url)
    upgrade(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def keyring(tmp_path: Path) -> FileKeyring:
    return FileKeyring.create(tmp_path / "keys")


@pytest.fixture(autouse=True)
def _private_verifier_state(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`ledger verify` remembers what it verified under XDG_STATE_HOME: never the real home."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path_factory.mktemp("xdg-state")))
