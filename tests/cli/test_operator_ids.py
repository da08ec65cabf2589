"""Ids an operator types into a ledgered command stand in the ledger as themselves only when
they name a known record; anything else (a typo, a pasted e-mail-like string) is a keyed digest,
since the ledger's tiles are public and can never be shredded. On SQLite and PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from custodes.pii import id_looks_like_pii
from tests.support.office import Office, office_home

TYPED = "carolyn.mcmahon"  # passes the e-mail/phone guard, yet names a person


@pytest.fixture
def office(tmp_path: Path, db_url: str) -> Iterator[Office]:
    with office_home(tmp_path, db_url) as (home, provider):
        yield Office(home, db_url, provider, tmp_path)


def _token_id(created: str) -> str:
    found = re.search(r"token id (\S+)", created)
    assert found is not None, created
    return found.group(1)


def test_revoking_an_unknown_token_id_keeps_the_typed_text_out_of_the_ledger(
    office: Office,
) -> None:
    refused = office.run("tokens", "revoke", TYPED, oidc=False, ok=False)
    assert refused.returncode != 0 and len(refused.stderr.strip().splitlines()) == 1
    attempts = office.entries("token.revoke")
    assert [e["decision"] for e in attempts] == ["recorded", "deny"]
    assert all(TYPED not in str(e) for e in attempts)
    assert all(str(e["extra"]["token"]).startswith("id_") for e in attempts)  # type: ignore[index]


def test_revoking_a_known_token_names_it(office: Office) -> None:
    created = office.run("tokens", "create", "payments", "--scope", "customers:reveal", oidc=False)
    token_id = _token_id(created.stdout)
    office.run("tokens", "revoke", token_id, oidc=False)
    revoked = office.entries("token.revoke")
    assert [(e["decision"], e["extra"]["token"]) for e in revoked] == [  # type: ignore[index]
        ("recorded", token_id)
    ]
    created = office.entries("token.create")[-1]["extra"]
    if id_looks_like_pii(token_id):  # about 1 in 2,000 random ids: then a keyed digest
        assert str(created["token"]).startswith("id_")  # type: ignore[index]
    else:
        assert created["token"] == token_id  # type: ignore[index]
    assert str(created["name"]).startswith("id_")  # type: ignore[index]


def test_creating_a_token_keeps_its_typed_name_and_bad_scopes_out_of_the_ledger(
    office: Office,
) -> None:
    bad = office.run("tokens", "create", "svc", "--scope", TYPED, oidc=False, ok=False)
    assert bad.returncode != 0 and "scopes must be among" in bad.stderr
    assert office.entries("token.create") == []  # refused before anything was recorded
    args = [f"--scope={s}" for s in ("customers:read", "customers:reveal", "customers:write")]
    args += [f"--scope={s}" for s in ("cases:write", "records:read", "requests:write")]
    args += [f"--scope={s}" for s in ("approvals:write", "decisions:read")]
    office.run("tokens", "create", TYPED, *args, "--trust-employee-header", oidc=False)
    (entry,) = office.entries("token.create")
    assert TYPED not in str(entry)
    assert entry["decision"] == "recorded"
    assert sum(1 for key in entry["extra"] if key.startswith("scope.")) == 9  # type: ignore[union-attr]


def test_the_operator_account_comes_from_the_system_not_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import os
    import pwd

    from custodes.cli.recording import operator

    for name in ("LOGNAME", "USER", "LNAME", "USERNAME"):
        monkeypatch.setenv(name, TYPED)
    assert operator() == "os:" + pwd.getpwuid(os.getuid()).pw_name
