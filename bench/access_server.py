"""A seeded custodes server for the HTTP benchmark: prints one JSON line when ready.

Run by bench/access_bench.py in its own process (one uvicorn worker: one sequencer per log).
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import uvicorn
from sqlalchemy.orm import Session

from custodes.access.signing import load_or_create_approval_key
from custodes.access.tokens import create_token
from custodes.cli.runtime import Runtime
from custodes.ledger.keys import write_log_keys
from custodes.marketplace.models import Case, Customer, Employee
from custodes.store.engine import transaction
from custodes.store.migrate import upgrade
from custodes.vault.keyring import FileKeyring
from custodes.vault.service import CustomerPII, insert_prepared, prepare_customer
from custodes.web.app import create_app

AGENTS, CUSTOMERS = 50, 2000


def main() -> None:
    home, port = Path(sys.argv[1]), int(sys.argv[2])
    workers = int(sys.argv[3]) if len(sys.argv) > 3 else 1
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
    with Session(rt.engine) as session, session.begin():
        _, token = create_token(session, "bench", ["customers:reveal"])
    ready = json.dumps({"token": token, "pairs": pairs[:500], "home": str(home)})
    if workers == 1:
        app = create_app(rt.engine, rt.services())
        print(ready, flush=True)
        uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
        return
    # The scale-out shape: one sequencer process, N stateless API workers.
    from custodes.cli.main import _start_sequencer
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
