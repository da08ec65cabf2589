"""The operator's first hour: help and version, a private home, keys that match the data,
tokens that expire and can be listed, one rule for key options."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy.orm import Session

from custodes.access.tokens import authenticate, create_token, list_tokens, parse_duration
from custodes.errors import InputError
from custodes.ledger.errors import LedgerError
from custodes.ledger.keys import key_text
from custodes.vault.keyring import FileKeyring
from tests.support.cli import run
from tests.support.dataset import write_dataset


def test_bare_custodes_prints_help_and_no_error(tmp_path: Path) -> None:
    result = run(tmp_path, ok=False)
    assert result.returncode == 0
    assert "Usage" in result.stdout and result.stderr == ""
    group = run(tmp_path, "keys", ok=False)
    assert group.returncode == 0 and group.stderr == ""


def test_version(tmp_path: Path) -> None:
    from custodes import __version__

    assert run(tmp_path, "--version").stdout.strip() == f"custodes {__version__}"


def test_init_makes_a_private_home_and_database(tmp_path: Path) -> None:
    home = tmp_path / "home"
    run(home, "init")
    assert home.stat().st_mode & 0o777 == 0o700
    assert (home / "custodes.db").stat().st_mode & 0o777 == 0o600
    assert (home / "keys").stat().st_mode & 0o777 == 0o700
    run(home, "init")  # idempotent on a healthy home


def test_init_tightens_a_database_file_left_readable(tmp_path: Path) -> None:
    home = tmp_path / "home"
    run(home, "init")
    os.chmod(home / "custodes.db", 0o644)
    result = run(home, "init")
    assert (home / "custodes.db").stat().st_mode & 0o777 == 0o600
    assert "now 0600" in result.stderr


def test_init_refuses_to_orphan_sealed_data(tmp_path: Path) -> None:
    home = tmp_path / "home"
    run(home, "init")
    run(home, "import", str(write_dataset(tmp_path / "ds")))
    keyring_file = home / "keys" / "keyring.json"
    keyring_file.rename(tmp_path / "keyring.backup")
    refused = run(home, "init", ok=False)
    assert refused.returncode == 1
    line = refused.stderr.strip()
    assert len(line.splitlines()) == 1
    assert "keyring.json" in line and "restore" in line and "KEK v1" in line
    assert not keyring_file.exists()  # nothing was made
    (tmp_path / "keyring.backup").rename(keyring_file)
    run(home, "init")


def test_init_refuses_a_new_ledger_key_for_an_existing_log(tmp_path: Path) -> None:
    home = tmp_path / "home"
    run(home, "init")
    from custodes.ledger.keys import load_log_signer
    from custodes.ledger.sequencer import Sequencer
    from custodes.store.engine import make_engine

    engine = make_engine(f"sqlite:///{home / 'custodes.db'}")
    with Sequencer(engine, load_log_signer(home / "keys")) as seq:
        seq.append_batch([b'{"n":1}'])
    engine.dispose()
    (home / "keys" / "ledger.key").unlink()
    refused = run(home, "init", ok=False)
    assert refused.returncode == 1 and "ledger.key" in refused.stderr
    assert "restore" in refused.stderr and not (home / "keys" / "ledger.key").exists()


def test_keys_status_proves_the_keyring_opens_stored_keys(tmp_path: Path) -> None:
    home = tmp_path / "home"
    run(home, "init")
    run(home, "import", str(write_dataset(tmp_path / "ds")))
    healthy = run(home, "keys", "status")
    assert "keyring opens all 2 sampled data keys" in healthy.stdout
    # A keyring that is present and well-formed but not the one that wrapped the data.
    (home / "keys" / "keyring.json").unlink()
    other = FileKeyring.create(tmp_path / "elsewhere")
    shutil.copy(tmp_path / "elsewhere" / "keyring.json", home / "keys" / "keyring.json")
    assert other.active_version == 1
    broken = run(home, "keys", "status", ok=False)
    assert broken.returncode == 1
    assert "FAILS to open 2 of 2" in broken.stderr
    assert len(broken.stderr.strip().splitlines()) == 1


def test_tokens_list_expiry_and_scopes_in_help(tmp_path: Path) -> None:
    home = tmp_path / "home"
    run(home, "init")
    assert "no tokens" in run(home, "tokens", "list").stdout
    made = run(
        home, "tokens", "create", "ci-bot", "--scope", "decisions:read", "--expires-in", "2h"
    )
    secret = made.stdout.strip().splitlines()[-1]
    listed = run(home, "tokens", "list").stdout
    assert "ci-bot" in listed and "live" in listed and "decisions:read" in listed
    assert secret not in listed
    assert (
        run(
            home,
            "tokens",
            "create",
            "x",
            "--scope",
            "decisions:read",
            "--expires-in",
            "soon",
            ok=False,
        ).returncode
        == 1
    )
    help_text = run(home, "tokens", "create", "--help").stdout
    for scope in ("customers:reveal", "approvals:write", "decisions:read"):
        assert scope in help_text


def test_expired_tokens_stop_authenticating(engine) -> None:  # type: ignore[no-untyped-def]
    with Session(engine) as session, session.begin():
        _, short = create_token(session, "short", ["decisions:read"], timedelta(hours=1))
        _, forever = create_token(session, "forever", ["decisions:read"])
    with Session(engine) as session:
        assert authenticate(session, short) is not None
        assert authenticate(session, forever) is not None
    later = datetime.now(UTC) + timedelta(hours=2)
    with Session(engine) as session, session.begin():
        from custodes.access.models import ApiToken

        row = session.query(ApiToken).filter_by(name="short").one()
        row.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    from custodes.access import tokens

    tokens._cache.clear()
    with Session(engine) as session:
        assert authenticate(session, short) is None
        assert authenticate(session, forever) is not None
        states = {r.name: r.state(later) for r in list_tokens(session)}
    assert states == {"short": "expired", "forever": "live"}


@pytest.mark.parametrize(
    ("text", "hours"), [("30m", 0.5), ("12h", 12), ("90d", 90 * 24), ("2w", 14 * 24)]
)
def test_durations(text: str, hours: float) -> None:
    assert parse_duration(text) == timedelta(hours=hours)


@pytest.mark.parametrize("text", ["", "0h", "5", "h", "-1d", "1y", "1.5h"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(InputError):
        parse_duration(text)


def test_key_options_share_one_rule(tmp_path: Path) -> None:
    vkey = "custodes.test/ledger+01234567+AbCdEf=="
    key_file = tmp_path / "log.pub"
    key_file.write_text(vkey + "\n")
    assert key_text(str(key_file)) == vkey
    assert key_text(vkey) == vkey
    with pytest.raises(LedgerError, match="no such key file"):
        key_text(str(tmp_path / "missing.pub"))


@pytest.mark.slow  # a witness server in a process of its own
def test_witness_serve_takes_the_log_key_from_a_file(tmp_path: Path) -> None:
    home = tmp_path / "home"
    run(home, "init")
    run(home, "witness", "keygen", "witness.test/w1", "--out", str(tmp_path / "w"))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "CUSTODES_HOME": str(home)}
    args = [
        sys.executable,
        "-m",
        "custodes.cli.main",
        "witness",
        "serve",
        "--key",
        str(tmp_path / "w" / "witness.key"),
        "--state",
        str(tmp_path / "state.json"),
        "--log-key",
        str(home / "keys" / "ledger.pub"),
        "--port",
        str(port),
    ]
    server = subprocess.Popen(args, env=env, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                answer = httpx.post(f"http://127.0.0.1:{port}/add-checkpoint", content=b"x")
                assert answer.status_code >= 400  # up, and refusing a malformed request
                break
            except httpx.HTTPError:
                assert server.poll() is None, server.stderr.read() if server.stderr else ""
                time.sleep(0.2)
        else:
            pytest.fail("witness did not start")
    finally:
        server.terminate()
        server.wait(timeout=30)
    missing = run(
        home,
        "witness",
        "serve",
        "--key",
        str(tmp_path / "w" / "witness.key"),
        "--state",
        str(tmp_path / "s.json"),
        "--log-key",
        str(tmp_path / "nope.pub"),
        ok=False,
    )
    assert missing.returncode == 1 and "nope.pub: no such key file" in missing.stderr


def test_serve_on_a_busy_port_is_one_line(tmp_path: Path) -> None:
    home = tmp_path / "home"
    run(home, "init")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run(home, "serve", "--port", str(port), ok=False)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and f"127.0.0.1:{port}" in lines[0] and "--port" in lines[0]
