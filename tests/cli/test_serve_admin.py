"""Operators work beside a running server: proofs, checkpoints and policy changes go through it
(never "another sequencer holds this log"), and a new policy takes effect without a restart."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from custodes.access.policy import default_policy_text
from tests.support.cli import run
from tests.support.dataset import write_dataset
from tests.support.idp import oidc_env, running_provider, signed_token
from tests.support.passkeys import enroll, link_of, web_env


@pytest.mark.slow  # `custodes serve` in a process of its own, the commands beside it
def test_proof_checkpoint_and_policy_while_serving(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    stack = contextlib.ExitStack()
    run(home, "init")
    folder = write_dataset(tmp_path / "ds")
    with (folder / "employees.csv").open("a") as employees:
        employees.write("E9,Priya Privacy,privacy_officer,legal,,2020-01-01T00:00:00Z,,EU\n")
        employees.write("E8,Pat Privacy,privacy_officer,legal,,2020-01-01T00:00:00Z,,EU\n")
    run(home, "import", str(folder))
    scopes = ("--scope", "customers:reveal", "--scope", "approvals:write")
    secret = run(home, "tokens", "create", "t", *scopes, "--trust-employee-header").stdout.split()[
        -1
    ]
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {
        **os.environ,
        "CUSTODES_HOME": str(home),
        "CUSTODES_LEDGER_ORIGIN": "custodes.test/ledger",
        **web_env(port),
    }
    env.pop("CUSTODES_DATABASE_URL", None)
    idp = stack.enter_context(running_provider())
    for name, value in oidc_env(idp).items():
        monkeypatch.setenv(name, value)
    server = subprocess.Popen(
        [sys.executable, "-m", "custodes.cli.main", "serve", "--port", str(port)], env=env
    )
    base = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Bearer {secret}", "X-Custodes-Employee": "E2"}
    body = {"fields": ["email"], "justification": {"code": "customer_contact", "case_id": "K1"}}
    try:
        for _ in range(300):
            try:
                httpx.get(f"{base}/openapi.json", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        ok = httpx.post(f"{base}/v1/customers/C1/reveal", json=body, headers=headers)
        assert ok.status_code == 200, ok.text
        receipt = ok.json()["decision"]
        assert receipt["checkpoint_size"] > receipt["ledger_index"]
        proof = run(home, "ledger", "proof", str(receipt["ledger_index"])).stdout
        assert "c2sp.org/tlog-proof@v1" in proof
        assert "custodes.test/ledger" in run(home, "ledger", "checkpoint").stdout
        strict = default_policy_text().replace('@id("support-open-case")', '// gone\n@id("x")')
        strict = strict.replace(
            'context.role == "support_agent" &&\n  context.case_open && '
            "context.case_covers_customer",
            'context.role == "nobody" &&\n  context.case_open && context.case_covers_customer',
        )
        (tmp_path / "strict.cedar").write_text(strict)
        # Proposing and executing need the proposer's own proof (an ID token from the provider).
        (tmp_path / "e9.jwt").write_text(signed_token(idp, "E9"))
        proof = ("--id-token-file", str(tmp_path / "e9.jwt"))
        strict_file = str(tmp_path / "strict.cedar")
        asked = run(home, "policy", "apply", strict_file, "--applied-by", "E9", *proof)
        request_id = asked.stdout.split("requested: ")[1].split()[0]
        digest = asked.stdout.split("(digest ")[1].split(")")[0]
        early = run(home, "policy", "execute", request_id, "--by", "E9", ok=False)
        assert early.returncode == 1 and "own_proof_required" in early.stderr
        # Not yet: one privacy officer alone changes nothing.
        early = run(home, "policy", "execute", request_id, "--by", "E9", *proof, ok=False)
        assert early.returncode == 1 and "not_approved" in early.stderr
        # The second privacy officer approves with their own passkey, on their own session.
        link = link_of(run(home, "employees", "enroll", "E8").stdout)
        approver = enroll(base, f"http://localhost:{port}", link, "E8")
        # A service naming E8 in the header cannot approve (recorded deny).
        asserted = {**headers, "X-Custodes-Employee": "E8"}
        start = f"{base}/v1/requests/{request_id}/approval"
        refused = httpx.post(
            start, json={"decision": "approve", "digest": digest}, headers=asserted
        )
        assert refused.status_code == 403 and "own_proof_required" in refused.text
        approved = approver.decide(base, secret, request_id, digest)
        assert approved.status_code == 200, approved.text
        applied = run(home, "policy", "execute", request_id, "--by", "E9", *proof)
        assert "policy v1" in applied.stdout
        for _ in range(100):
            again = httpx.post(f"{base}/v1/customers/C1/reveal", json=body, headers=headers)
            if again.status_code == 403:
                break
            time.sleep(0.1)
        assert again.status_code == 403, "the new policy did not take effect"
    finally:
        server.terminate()
        server.wait(timeout=30)
        stack.close()
    run(home, "ledger", "export", str(tmp_path / "export"))
    bundles = (tmp_path / "export" / "tile" / "entries").rglob("*")
    text = b"".join(p.read_bytes() for p in bundles if p.is_file())
    assert b'"policy.apply"' in text and b'"token.create"' in text and b'"dataset.import"' in text
    # The approval's assertion checks out offline against the passkey the ledger registered.
    pub = str(home / "keys" / "ledger.pub")
    origin = f"http://localhost:{port}"
    audit = run(
        home,
        "ledger",
        "verify-approvals",
        str(tmp_path / "export"),
        "--key",
        pub,
        "--origin",
        origin,
    )
    assert "1 approvals checked against 1 registered passkeys" in audit.stdout
