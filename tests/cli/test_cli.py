"""The `custodes` command end to end, as a user runs it (in-process through the real entry
point; `serve` in processes of its own), on embedded SQLite."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from custodes.ledger.keys import load_log_signer
from custodes.ledger.sequencer import Sequencer
from custodes.store.engine import make_engine
from tests.support.cli import ORIGIN, home_env, invoke, run
from tests.support.dataset import PII_VALUES, write_dataset
from tests.support.idp import oidc_env, running_provider, signed_token


def test_import_erase_rotate(home: Path, tmp_path: Path) -> None:
    folder = write_dataset(tmp_path / "ds")
    with (folder / "employees.csv").open("a") as employees:
        employees.write("E9,Priya Privacy,privacy_officer,legal,,2020-01-01T00:00:00Z,,EU\n")
    out = run(home, "import", str(folder))
    assert "customers=2" in out.stdout
    refused = run(home, "customers", "erase", "C1", "--operator", "E9", ok=False)
    assert refused.returncode == 1 and "--yes" in refused.stderr  # irreversible: confirm
    with running_provider() as provider:  # the officer's own proof (tests/identity: refusals)
        env = home_env(home, CUSTODES_LEDGER_ORIGIN=ORIGIN, **oidc_env(provider))
        erase = ["customers", "erase", "C1", "--yes", "--id-token-file", str(tmp_path / "t")]
        (tmp_path / "t").write_text(signed_token(provider, "E2"))
        assert invoke([*erase, "--operator", "E2"], env).returncode  # not a privacy officer
        (tmp_path / "t").write_text(signed_token(provider, "E9"))
        assert invoke([*erase, "--operator", "E9"], env).returncode == 0
    rotated = run(home, "keys", "rotate", "--batch-size", "1")
    assert "re-wrapped 1 data keys" in rotated.stdout  # C1 was erased: only C2 has a key
    assert "kek_v2=1" in run(home, "keys", "status").stdout
    run(home, "keys", "retire", "1")
    text = b"".join(
        p.read_bytes() for p in home.rglob("*") if p.is_file() and "keys" not in p.parts
    )
    for value in PII_VALUES:
        assert value.encode() not in text


@pytest.mark.parametrize(
    "args",
    [
        ("import", "/nonexistent/folder"),
        ("customers", "erase", "C404", "--operator", "E1", "--yes"),
        ("keys", "retire", "1"),
        ("ledger", "proof", "5"),
        ("ledger", "verify-proof", "/nonexistent.proof", "--key", "a+b+c"),
    ],
)
def test_errors_are_one_line_and_nonzero(home: Path, args: tuple[str, ...]) -> None:
    result = run(home, *args, ok=False)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("custodes: error:")


def test_ledger_keygen_proof_export_verify(home: Path, tmp_path: Path) -> None:
    # `init` made the log key; keygen refuses to replace it (old checkpoints must verify).
    assert run(home, "ledger", "keygen", ok=False).returncode == 1
    assert (home / "keys" / "ledger.pub").read_text().startswith("custodes.test/ledger+")
    assert (home / "keys" / "ledger.key").stat().st_mode & 0o777 == 0o600
    engine = make_engine(f"sqlite:///{home / 'custodes.db'}")
    with Sequencer(engine, load_log_signer(home / "keys")) as seq:
        seq.append_batch([b'{"n":%d}' % i for i in range(300)])
    engine.dispose()
    proof = run(home, "ledger", "proof", "299").stdout
    assert proof.startswith("c2sp.org/tlog-proof@v1\n")
    proof_file = tmp_path / "entry.proof"
    proof_file.write_text(proof)
    pub = str(home / "keys" / "ledger.pub")
    checked = run(home, "ledger", "verify-proof", str(proof_file), "--key", pub)
    assert checked.stdout.startswith("ok: entry included") and '{"n":299}' in checked.stdout
    proof_file.write_text(proof.replace("index 299", "index 298"))
    assert run(home, "ledger", "verify-proof", str(proof_file), "--key", pub, ok=False).returncode

    export = tmp_path / "export"
    run(home, "ledger", "export", str(export))
    assert run(home, "ledger", "verify", str(export), "--key", pub).stdout.startswith("ok:")
    bundle = export / "tile" / "entries" / "001.p" / "44"
    data = bytearray(bundle.read_bytes())
    data[10] ^= 1
    bundle.write_bytes(bytes(data))
    failed = run(home, "ledger", "verify", str(export), "--key", pub, ok=False)
    assert failed.returncode == 1
    assert "first bad index 256" in failed.stderr


def test_demo_tells_the_story(tmp_path: Path) -> None:
    out = run(
        tmp_path / "unused",
        "demo",
        "--no-serve",
        "--home",
        str(tmp_path / "demo"),
        "--customers",
        "300",
        "--employees",
        "30",
        "--days",
        "5",
    )
    text = out.stdout
    assert "allow" in text and "no_case_cited" in text and "not_independent" in text
    assert "offline verify: ok" in text.replace("\n", " ")
    assert not (tmp_path / "demo" / "dataset").exists()


@pytest.mark.slow  # `custodes serve` (and its sequencer) in processes of their own
@pytest.mark.parametrize("workers", [1, 2])
def test_serve_end_to_end(home: Path, tmp_path: Path, workers: int) -> None:
    """init -> import -> tokens create -> serve -> a justified reveal over HTTP -> verify.

    With two workers, the API processes are stateless and append through `custodes sequencer`.
    """
    import socket
    import time

    import httpx

    run(home, "import", str(write_dataset(tmp_path / "ds")))
    token = run(
        home,
        "tokens",
        "create",
        "support-tool",
        "--scope",
        "customers:reveal",
        "--trust-employee-header",
    )
    secret = token.stdout.strip().splitlines()[-1]
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {
        **os.environ,
        "CUSTODES_HOME": str(home),
        "CUSTODES_LEDGER_ORIGIN": "custodes.test/ledger",
    }
    env.pop("CUSTODES_DATABASE_URL", None)
    out_file, err_file = tmp_path / "serve.out", tmp_path / "serve.err"
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "custodes.cli.main",
            "serve",
            "--port",
            str(port),
            "--workers",
            str(workers),
        ],
        env=env,
        stdout=out_file.open("w"),
        stderr=err_file.open("w"),
    )
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                httpx.get(f"{base}/openapi.json", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        headers = {"Authorization": f"Bearer {secret}", "X-Custodes-Employee": "E2"}
        body = {"fields": ["email"], "justification": {"code": "customer_contact", "case_id": "K1"}}
        ok = httpx.post(f"{base}/v1/customers/C1/reveal", json=body, headers=headers)
        assert ok.status_code == 200, ok.text
        assert ok.json()["values"] == {"email": "quentin.q@mailbox.example"}
        denied = httpx.post(f"{base}/v1/customers/C2/reveal", json=body, headers=headers)
        assert denied.status_code == 403
        assert denied.headers["content-type"] == "application/problem+json"
        assert httpx.get(f"{base}/healthz").status_code == 200
        ready = httpx.get(f"{base}/readyz")
        assert ready.status_code == 200, ready.text
        # Whichever worker answers, the counters are the sum over all of them.
        for _ in range(2 * workers):
            metrics = httpx.get(f"{base}/metrics").text
            assert 'custodes_decisions_total{action="customer.view",outcome="allow"} 1.0' in (
                metrics
            ), metrics
            assert 'outcome="deny"} 1.0' in metrics
            assert "custodes_ledger_size 4.0" in metrics  # import, token, two reveals
    finally:
        server.terminate()
        server.wait(timeout=30)
    banner = out_file.read_text()
    assert f"custodes serving on http://127.0.0.1:{port}" in banner
    assert f"home:     {home.resolve()}" in banner and "database: sqlite:///" in banner
    assert "ledger:   2 entries" in banner and "policy:   shipped default" in banner
    logs = [json.loads(line) for line in err_file.read_text().splitlines() if line.startswith("{")]
    access = [line for line in logs if line.get("logger") == "custodes.access"]
    routes = {line["route"] for line in access}
    assert "/v1/customers/{customer_id}/reveal" in routes, access
    assert "C1" not in err_file.read_text() and "quentin" not in err_file.read_text()
    run(home, "ledger", "checkpoint")
    run(home, "ledger", "export", str(tmp_path / "export"))
    pub = str(home / "keys" / "ledger.pub")
    # The import and the token's creation, then the two reveals: every change is on record.
    assert "size 4" in run(home, "ledger", "verify", str(tmp_path / "export"), "--key", pub).stdout


def test_usage_errors_are_one_line_without_a_traceback(tmp_path: Path) -> None:
    for args in (("sim", str(tmp_path / "d"), "--employees", "5"), ("import",), ("nosuch",)):
        result = run(tmp_path, *args, ok=False)
        assert result.returncode == 2, args
        assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_demo_never_deletes_a_folder_it_did_not_make(tmp_path: Path) -> None:
    real = tmp_path / "home"
    real.mkdir()
    (real / "keyring.json").write_text("{}")
    result = run(tmp_path, "demo", "--home", str(real), "--customers", "50", ok=False)
    assert result.returncode == 1 and "not a demo folder" in result.stderr
    assert (real / "keyring.json").read_text() == "{}"
