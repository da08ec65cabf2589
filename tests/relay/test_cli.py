"""`custodes relay serve` as a process: real SMTP in, real SMTP out, then a clean stop."""

from __future__ import annotations

import os
import signal
import smtplib
import subprocess
import sys
import time
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select
from sqlalchemy.orm import Session

from custodes.marketplace.models import Order
from custodes.relay.models import RelayAlias, SellerCredential
from custodes.sim import SimConfig, generate
from custodes.store.engine import make_engine
from tests.support.relay import Smarthost, free_port


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "custodes.cli.main", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.slow
def test_relay_serve_end_to_end(tmp_path: Path) -> None:
    env = {**os.environ, "CUSTODES_HOME": str(tmp_path / "home")}
    generate(tmp_path / "ds", SimConfig(seed=4, customers=300, employees=20, days=5))
    assert _run(env, "init").returncode == 0
    assert _run(env, "import", str(tmp_path / "ds")).returncode == 0
    engine = make_engine(f"sqlite:///{tmp_path / 'home' / 'custodes.db'}")
    with Session(engine) as session:
        order = session.scalars(select(Order)).first()
    assert order is not None
    bad = _run(env, "relay", "contact", "NOPE", "x@y.example")
    assert bad.returncode != 0 and len(bad.stderr.strip().splitlines()) == 1
    assert _run(env, "relay", "contact", order.seller_id, "Shop@Seller.example").returncode == 0
    issued = _run(env, "relay", "credentials", order.seller_id)
    assert issued.returncode == 0, issued.stderr
    secret = issued.stdout.split("secret: ")[1].split()[0]
    with Session(engine) as session:  # at rest only as a digest
        stored = session.get(SellerCredential, order.seller_id)
    assert stored is not None and stored.password_hash.startswith("sha256:")
    assert secret not in stored.password_hash
    unknown = _run(env, "relay", "credentials", "NOPE")
    assert unknown.returncode != 0 and len(unknown.stderr.strip().splitlines()) == 1
    host = Smarthost()
    smart_port, relay_port = free_port(), free_port()
    controller = Controller(host, hostname="127.0.0.1", port=smart_port)
    controller.start()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "custodes.cli.main",
            "relay",
            "serve",
            "--domain",
            "relay.test",
            "--port",
            str(relay_port),
            "--smarthost",
            f"127.0.0.1:{smart_port}",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                client = smtplib.SMTP("127.0.0.1", relay_port, timeout=5)
                break
            except OSError:
                assert time.monotonic() < deadline and process.poll() is None, process.stderr
                time.sleep(0.2)
        with Session(engine) as session:
            alias = session.scalar(
                select(RelayAlias.alias).where(
                    RelayAlias.seller_id == order.seller_id,
                    RelayAlias.customer_id == order.customer_id,
                )
            )
        assert alias
        with client:
            client.login(order.seller_id, secret)
            client.sendmail(
                "shop@seller.example",
                [f"{alias}@relay.test"],
                b"Subject: shipped\r\n\r\nYour order shipped today.\r\n",
            )
        assert host.wait(1, timeout=30)
        assert host.messages[0][1][0].count("@") == 1
        assert host.messages[0][1][0] != f"{alias}@relay.test"
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            # communicate, not wait: it drains the pipes, so a server that has logged more than
            # a pipe holds is not left blocked writing its stderr while the test waits for it.
            _, stderr = process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
        finally:
            controller.stop()
            engine.dispose()
    assert process.returncode == 0, stderr
