"""`custodes policy execute` needs the proposer's own proof (an OIDC ID token in a file, checked
against a real JWKS on loopback), like the HTTP door: no proof, another employee's token, an
expired token or no trusted provider is a recorded deny; a good token reaches the door's own
rules (here: not approved yet) and its entry says the proposer was proven by "oidc"."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from custodes.ledger.models import LedgerEntryRow
from custodes.runtime import Runtime
from tests.support.cli import ORIGIN, home_env, invoke, run
from tests.support.dataset import write_dataset
from tests.support.idp import Provider, oidc_env, running_provider, signed_token


@pytest.fixture
def proposed(tmp_path: Path) -> Iterator[tuple[Path, str, Provider]]:
    home = tmp_path / "home"
    run(home, "init")
    folder = write_dataset(tmp_path / "ds")
    with (folder / "employees.csv").open("a") as employees:
        employees.write("E9,Priya Privacy,privacy_officer,legal,,2020-01-01T00:00:00Z,,EU\n")
        employees.write("E8,Pat Privacy,privacy_officer,legal,,2020-01-01T00:00:00Z,,EU\n")
    run(home, "import", str(folder))
    policy = tmp_path / "p.cedar"
    from custodes.access.policy import default_policy_text

    policy.write_text(default_policy_text() + "\n// a reviewed change\n")
    with running_provider() as provider:
        token = tmp_path / "e9.jwt"
        token.write_text(signed_token(provider, "E9"))
        args = ["policy", "apply", str(policy), "--applied-by", "E9", "--id-token-file", str(token)]
        env = home_env(home, CUSTODES_LEDGER_ORIGIN=ORIGIN, **oidc_env(provider))
        asked = invoke(args, env)
        assert asked.returncode == 0, asked.stderr
        request_id = asked.stdout.split("requested: ")[1].split()[0]
        yield home, request_id, provider


def _execute(
    home: Path, request_id: str, token: str | None, tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> str:
    args = ["policy", "execute", request_id, "--by", "E9"]
    if token is not None:
        path = tmp / "id_token"
        path.write_text(token + "\n")
        args += ["--id-token-file", str(path)]
    result = run(home, *args, ok=False)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    if token is not None:
        assert token not in result.stderr
    return result.stderr


def _entries(home: Path, monkeypatch: pytest.MonkeyPatch) -> list[dict[str, object]]:
    monkeypatch.setenv("CUSTODES_HOME", str(home))
    monkeypatch.delenv("CUSTODES_DATABASE_URL", raising=False)
    engine = Runtime.from_env().engine
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(LedgerEntryRow.data).order_by(LedgerEntryRow.idx)).scalars()
            return [json.loads(data) for data in rows]
    finally:
        engine.dispose()


def test_execute_refusals_are_recorded(
    proposed: tuple[Path, str, Provider], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home, request_id, provider = proposed
    now = int(time.time())
    assert "own_proof_required" in _execute(home, request_id, None, tmp_path, monkeypatch)
    no_idp = signed_token(provider, "E9")
    assert "oidc_not_configured" in _execute(home, request_id, no_idp, tmp_path, monkeypatch)
    for name, value in oidc_env(provider).items():
        monkeypatch.setenv(name, value)
    cases = {
        "employee_mismatch": signed_token(provider, "E8"),
        "token_expired": signed_token(provider, "E9", iat=now - 7200, exp=now - 3600),
        "wrong_audience": signed_token(provider, "E9", aud="another-service"),
        "malformed_token": "not a token",
    }
    for reason, token in cases.items():
        assert reason in _execute(home, request_id, token, tmp_path, monkeypatch)
    denies = [
        e
        for e in _entries(home, monkeypatch)
        if e["action"] == "policy.apply" and e["decision"] == "deny"
    ]
    expected = ["own_proof_required", "oidc_not_configured", *cases]
    assert [e["reason"] for e in denies] == expected
    assert all(e["actor"] == "E9" for e in denies)


def test_execute_with_the_proposers_token_reaches_the_door(
    proposed: tuple[Path, str, Provider], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home, request_id, provider = proposed
    for name, value in oidc_env(provider).items():
        monkeypatch.setenv(name, value)
    token = signed_token(provider, "E9")
    stderr = _execute(home, request_id, token, tmp_path, monkeypatch)
    assert "not_approved" in stderr  # proven; the door's dual control still holds
    last = _entries(home, monkeypatch)[-1]
    extra = last["extra"]
    assert isinstance(extra, dict)
    assert last["actor"] == "E9" and last["reason"] == "not_approved"
    assert extra["proof"] == "oidc" and str(extra["proof_ref"]).startswith("jwt:")


def test_unreadable_token_file_is_one_line(
    proposed: tuple[Path, str, Provider], tmp_path: Path
) -> None:
    home, request_id, _ = proposed
    missing = str(tmp_path / "absent")
    result = run(
        home, "policy", "execute", request_id, "--by", "E9", "--id-token-file", missing, ok=False
    )
    assert result.returncode == 1 and "cannot read" in result.stderr
    assert "Traceback" not in result.stderr
