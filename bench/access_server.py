"""A seeded custodes server for the HTTP benchmark: prints one JSON line when ready.

Run by bench/access_bench.py in its own process (one uvicorn worker: one sequencer per log).
The mode (4th argument) says how the employee is proven: `header` (a --trust-employee-header
token naming the agent), or `jwt` (the agent's OIDC ID token, checked against a JWKS this process
serves on loopback with a key made here).
"""

from __future__ import annotations

import json
import sys
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import jwt
import uvicorn
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm
from sqlalchemy.orm import Session

from custodes.access.signing import load_or_create_approval_key
from custodes.access.tokens import create_token
from custodes.identity.settings import OIDCSettings
from custodes.ledger.keys import write_log_keys
from custodes.marketplace.models import Case, Customer, Employee
from custodes.runtime import Runtime
from custodes.store.engine import transaction
from custodes.store.migrate import upgrade
from custodes.vault.keyring import FileKeyring
from custodes.vault.service import CustomerPII, insert_prepared, prepare_customer
from custodes.web.app import create_app

AGENTS, CUSTOMERS = 50, 2000


def _identity_provider(agents: list[str]) -> tuple[OIDCSettings, dict[str, str]]:
    """A JWKS on loopback (ES256 key made here) and one ID token per agent."""
    private = ec.generate_private_key(ec.SECP256R1())
    jwk = json.loads(ECAlgorithm.to_jwk(private.public_key()))
    jwk.update({"kid": "bench-1", "use": "sig"})
    document = json.dumps({"keys": [jwk]}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(document)))
            self.end_headers()
            self.wfile.write(document)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/jwks.json"
    settings = OIDCSettings("https://idp.bench.test", url, "custodes-bench")
    now = int(time.time())
    tokens = {
        agent: jwt.encode(
            {
                "iss": settings.issuer,
                "aud": settings.audience,
                "employee_id": agent,
                "iat": now,
                "exp": now + 3600,
            },
            private,
            algorithm="ES256",
            headers={"kid": "bench-1"},
        )
        for agent in agents
    }
    return settings, tokens


def main() -> None:
    home, port = Path(sys.argv[1]), int(sys.argv[2])
    workers = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    mode = sys.argv[4] if len(sys.argv) > 4 else "header"
    rt = Runtime.from_env()
    keyring = FileKeyring.create(rt.settings.keys_dir)
    write_log_keys(rt.settings.keys_dir, rt.settings.ledger_origin)
    load_or_create_approval_key(rt.settings.keys_dir)
    upgrade(rt.engine)
    opened = datetime.now(UTC) - timedelta(hours=1)
    pairs = []
    with transaction(rt.engine) as session:
        for a in range(AGENTS):
            session.add(Employee(employee_id=f"A{a:03d}", name=f"Agent {a}", role="support_agent"))
        prepared = [
            prepare_customer(
                keyring,
                f"C{c:05d}",
                CustomerPII(name=f"Bench Person {c}", email=f"bench{c}@example.net"),
            )
            for c in range(CUSTOMERS)
        ]
        for p in prepared:
            session.add(Customer(customer_id=p.customer_id, pseudonym=p.pseudonym))
        session.flush()
        insert_prepared(session, prepared)
        for c in range(CUSTOMERS):
            agent = f"A{c % AGENTS:03d}"
            session.add(
                Case(
                    case_id=f"K{c:05d}",
                    kind="customer_contact",
                    employee_id=agent,
                    customer_id=f"C{c:05d}",
                    opened_at=opened,
                )
            )
            pairs.append([agent, f"C{c:05d}", f"K{c:05d}"])
    scopes = ["customers:reveal"] + (["employee:assert"] if mode == "header" else [])
    with Session(rt.engine) as session, session.begin():
        _, token = create_token(session, "bench", scopes)
    services = rt.services()
    pairs = pairs[:500]
    if mode == "jwt":
        oidc, id_tokens = _identity_provider([f"A{a:03d}" for a in range(AGENTS)])
        services = replace(services, oidc=oidc)
        pairs = [[*p, id_tokens[p[0]]] for p in pairs]
    ready = json.dumps({"token": token, "pairs": pairs, "home": str(home)})
    if workers == 1:
        app = create_app(rt.engine, services)
        print(ready, flush=True)
        uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
        return
    # The scale-out shape: one sequencer process, N stateless API workers.
    from custodes.cli.serve_commands import start_sequencer as _start_sequencer
    from custodes.web.worker import sequencer_socket

    sequencer = _start_sequencer(sequencer_socket(rt.settings.home))
    print(ready, flush=True)
    try:
        uvicorn.run(
            "custodes.web.worker:create_worker_app",
            factory=True,
            workers=workers,
            host="127.0.0.1",
            port=port,
            log_level="warning",
            access_log=False,
        )
    finally:
        sequencer.terminate()
        sequencer.wait(timeout=30)


if __name__ == "__main__":
    main()
