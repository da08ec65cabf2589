"""Limits and "once" hold across API worker processes: `serve --workers 4` on both backends.
60 parallel reveals never pass the hourly limit; 20 racing approvals give one allow."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from custodes.ledger.storage import LedgerReader
from custodes.store.engine import make_engine
from tests.support.passkeys import enroll, link_of, web_env

T = "2025-01-01T00:00:00Z"
CUSTOMERS = [f"C{i:03d}" for i in range(60)]


def _dataset(folder: Path) -> Path:
    folder.mkdir()
    files = {
        "employees.csv": "employee_id,name,role,team,manager_id,hired_at,left_at,region\n"
        f"E1,Mona,manager,support,,{T},,EU\nE2,Sam,support_agent,support,E1,{T},,EU\n"
        f"E3,Tess,trust_safety,tns,E1,{T},,EU\nE4,Ari,manager,ops,,{T},,EU\n"
        f"E5,Bo,manager,ops2,,{T},,EU\n",
        "customers.csv": "customer_id,name,email,phone,country,region,language,created_at\n"
        + "".join(f"{c},Person {c},p{c.lower()}@mail.example,,GB,EU,en,{T}\n" for c in CUSTOMERS),
        "sellers.csv": "seller_id,name,status,country,created_at,banned_at\n"
        f"S1,Acme,active,US,{T},\n",
        "products.csv": "product_id,seller_id,category,title\nP1,S1,home,Widget\n",
        "orders.csv": f"order_id,customer_id,product_id,seller_id,ordered_at\nO1,C000,P1,S1,{T}\n",
        "reviews.csv": "review_id,customer_id,product_id,seller_id,rating,created_at,status,"
        f"removed_at,removed_by\nR1,C000,P1,S1,1,{T},published,,\n",
        "cases.csv": "case_id,kind,employee_id,customer_id,seller_id,opened_at,closed_at\n"
        + "".join(f"K{c},customer_contact,E2,{c},,{T},\n" for c in CUSTOMERS)
        + f"KR,review_report,E3,C000,S1,{T},\n",
    }
    for name, text in files.items():
        (folder / name).write_text(text)
    (folder / "access.jsonl").write_text("")
    return folder


def _cli(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "custodes.cli.main", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.slow
def test_limits_and_once_hold_across_four_workers(db_url: str, tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {
        **os.environ,
        "CUSTODES_HOME": str(tmp_path / "home"),
        "CUSTODES_DATABASE_URL": db_url,
        "CUSTODES_LEDGER_ORIGIN": "custodes.test/ledger",
        **web_env(port),
    }
    _cli(env, "init")
    _cli(env, "import", str(_dataset(tmp_path / "ds")))
    scopes = ["customers:reveal", "requests:write", "approvals:write"]
    token = _cli(
        env,
        "tokens",
        "create",
        "tool",
        *[a for s in scopes for a in ("--scope", s)],
        "--trust-employee-header",  # the reveals name E2; requests and approvals need more
    )
    secret = token.strip().splitlines()[-1]
    links = {who: link_of(_cli(env, "employees", "enroll", who)) for who in ("E3", "E4", "E5")}
    server = subprocess.Popen(
        [sys.executable, "-m", "custodes.cli.main", "serve", "--port", str(port), "--workers", "4"],
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                httpx.get(f"{base}/openapi.json", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)

        def call(path: str, employee: str, body: dict[str, object]) -> httpx.Response:
            headers = {"Authorization": f"Bearer {secret}", "X-Custodes-Employee": employee}
            return httpx.post(f"{base}{path}", json=body, headers=headers, timeout=60)

        def reveal(customer: str) -> int:
            why = {"code": "customer_contact", "case_id": f"K{customer}"}
            body = {"fields": ["email"], "justification": why}
            return call(f"/v1/customers/{customer}/reveal", "E2", body).status_code

        with ThreadPoolExecutor(60) as pool:
            codes = list(pool.map(reveal, CUSTOMERS))
        assert codes.count(200) == 30, codes
        assert codes.count(202) == 30, codes

        origin = f"http://localhost:{port}"
        people = {who: enroll(base, origin, link, who) for who, link in links.items()}
        asked = httpx.post(
            f"{base}/v1/requests",
            json={
                "action": "review.delete",
                "resource": {"kind": "review", "ids": ["R1"]},
                "justification": {"code": "review_report", "case_id": "KR"},
            },
            headers=people["E3"].headers(secret),
            timeout=60,
        )
        assert asked.status_code == 202, asked.text
        request_id = asked.json()["decision"]["request_id"]
        headers = {"Authorization": f"Bearer {secret}"}
        digest = httpx.get(f"{base}/v1/requests/{request_id}", headers=headers).json()["digest"]

        def approve(who: str) -> int:
            return people[who].decide(base, secret, request_id, digest).status_code

        with ThreadPoolExecutor(20) as pool:
            approvals = list(pool.map(approve, ["E4", "E5"] * 10))
        assert approvals.count(200) == 1, approvals
    finally:
        server.terminate()
        server.wait(timeout=60)
    engine = make_engine(db_url)
    reader = LedgerReader(engine)
    entries = [json.loads(e) for e in reader.entries(0, reader.head().size)]
    engine.dispose()
    reveals = [e for e in entries if e["action"] == "customer.view"]
    assert sum(e["decision"] == "allow" for e in reveals) == 30
    approves = [e for e in entries if e["action"] == "approve.review.delete"]
    assert sum(e["decision"] == "allow" for e in approves) == 1
    assert sum(e["decision"] == "deny" for e in approves) == 19
