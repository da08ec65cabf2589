"""The reveal's fast path reads service tokens from the in-process cache (`cached_token`) and
opens no session on a hit: a cached token must still lose the reveal the moment it is revoked
in this process, and a cached token without the reveal's scope never gains it."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from custodes.access.models import ApiToken
from custodes.access.principal import ASSERT_SCOPE
from custodes.access.tokens import create_token, revoke_token
from tests.support.api import Api

GOOD = {"fields": ["email"], "justification": {"code": "customer_contact", "case_id": "K1"}}
PATH = "/v1/customers/C1/reveal"


def _token(api: Api, scopes: list[str]) -> tuple[str, str]:
    with Session(api.engine) as session, session.begin():
        return create_token(session, "cached-tool", scopes)


def _reveal(api: Api, token: str) -> int:
    headers = {"Authorization": f"Bearer {token}", "X-Custodes-Employee": "A1"}
    return api.client.post(PATH, json=GOOD, headers=headers).status_code


def test_a_cached_token_revoked_here_stops_at_once(api: Api) -> None:
    token_id, token = _token(api, ["customers:reveal", ASSERT_SCOPE])
    assert _reveal(api, token) == 200  # now cached
    assert _reveal(api, token) == 200  # answered from the cache
    with Session(api.engine) as session, session.begin():
        revoke_token(session, token_id)
        assert session.scalar(select(ApiToken.revoked_at).where(ApiToken.token_id == token_id))
    assert _reveal(api, token) == 401


def test_a_cached_token_without_the_scope_cannot_reveal(api: Api) -> None:
    _, token = _token(api, ["customers:read", ASSERT_SCOPE])
    masked = {"Authorization": f"Bearer {token}", "X-Custodes-Employee": "A1"}
    assert api.client.get("/v1/customers/C1?case_id=K1", headers=masked).status_code == 200
    assert _reveal(api, token) == 403  # cached, and still without customers:reveal


def test_a_token_with_an_expiry_reveals_from_the_database_and_from_the_cache(api: Api) -> None:
    # The cached answer is checked against its expiry on every call (a stored time compared
    # with the clock): it must compare, not fail, on both backends.
    with Session(api.engine) as session, session.begin():
        _, token = create_token(
            session, "expiring-tool", ["customers:reveal", ASSERT_SCOPE], timedelta(hours=1)
        )
    assert _reveal(api, token) == 200
    assert _reveal(api, token) == 200
