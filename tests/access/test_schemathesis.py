"""schemathesis against our own OpenAPI: no 5xx, no response that breaks the schema."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import positive_data_acceptance
from sqlalchemy.orm import Session

from custodes.access.notify import Outbox
from custodes.access.tokens import SCOPES, create_token
from custodes.ledger.note import Signer, generate_signer_key
from custodes.store.engine import make_engine
from custodes.store.migrate import upgrade
from custodes.vault.keyring import FileKeyring
from custodes.web.app import Services, close_app, create_app
from tests.support.marketplace import seed

TOKEN: dict[str, str] = {}


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    tmp: Path = tmp_path_factory.mktemp("schemathesis")
    engine = make_engine(f"sqlite:///{tmp / 'api.db'}")
    upgrade(engine)
    keyring = FileKeyring.create(tmp / "keys")
    seed(engine, keyring)
    with Session(engine) as session, session.begin():
        _, TOKEN["value"] = create_token(session, "fuzzer", list(SCOPES))
    app = create_app(
        engine,
        Services(
            keyring,
            Ed25519PrivateKey.generate(),
            Signer.from_skey(generate_signer_key("custodes.test/ledger")[0]),
            notifier=Outbox(),
        ),
    )
    yield schemathesis.openapi.from_asgi("/openapi.json", app)
    close_app(app)
    engine.dispose()


EXAMPLES = int(os.environ.get("CUSTODES_FUZZ_EXAMPLES", "50"))


def test_api_never_fails_or_breaks_its_schema(api_schema: Any) -> None:
    """Every operation, fuzzed from the schema; one hypothesis run per operation."""
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 15
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def check(case: schemathesis.Case) -> None:
            headers = {"Authorization": f"Bearer {TOKEN['value']}"}
            if not (case.headers or {}).get("X-Custodes-Employee"):
                headers["X-Custodes-Employee"] = "A1"
            # Semantic checks beyond the schema (is this e-mail real, is this phone possible)
            # legitimately reject schema-valid input with 400, so positive-data acceptance
            # is not asked for; server errors and schema breaks are.
            case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance])

        check()
