"""A tiny hand-written dataset folder that exercises every file of the format, and a snapshot of
every row of a database (to prove a failed import changed nothing)."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import Engine, MetaData

FILES: dict[str, str] = {
    "employees.csv": (
        "employee_id,name,role,team,manager_id,hired_at,left_at,region\n"
        "E1,Mona Manager,manager,support,,2020-01-01T00:00:00Z,,EU\n"
        "E2,Sam Support,support_agent,support,E1,2021-03-01T00:00:00Z,,EU\n"
        "E3,Tess Trust,trust_safety,tns,E1,2022-05-01T00:00:00Z,,EU\n"
    ),
    "customers.csv": (
        "customer_id,name,email,phone,country,region,language,created_at\n"
        "C1,Quentin Quarrelsome,quentin.q@mailbox.example,+442079460111,GB,EU,en,"
        "2024-01-01T00:00:00Z\n"
        "C2,Rosalind Reviewer,ros.rev@inbox.example,+14155552671,US,NA,en,2024-02-01T00:00:00Z\n"
    ),
    "sellers.csv": (
        "seller_id,name,status,country,created_at,banned_at\n"
        "S1,Acme Widgets,active,US,2023-01-01T00:00:00Z,\n"
        "S2,Shady Goods,banned,CN,2023-01-01T00:00:00Z,2025-06-01T00:00:00Z\n"
    ),
    "products.csv": "product_id,seller_id,category,title\nP1,S1,home,Widget\nP2,S2,toys,Gadget\n",
    "orders.csv": (
        "order_id,customer_id,product_id,seller_id,ordered_at\n"
        "O1,C1,P1,S1,2025-01-02T10:00:00Z\n"
        "O2,C2,P2,S2,2025-01-03T10:00:00Z\n"
    ),
    "reviews.csv": (
        "review_id,customer_id,product_id,seller_id,rating,created_at,status,removed_at,removed_by\n"
        "R1,C1,P1,S1,5,2025-01-05T10:00:00Z,published,,\n"
        "R2,C2,P2,S2,1,2025-01-06T10:00:00Z,removed,2025-01-07T10:00:00Z,E3\n"
    ),
    "cases.csv": (
        "case_id,kind,employee_id,customer_id,seller_id,opened_at,closed_at\n"
        "K1,customer_contact,E2,C1,,2025-01-08T09:00:00Z,\n"
        "K2,review_report,E3,C2,S2,2025-01-06T12:00:00Z,2025-01-07T11:00:00Z\n"
    ),
}
ACCESS = [
    {
        "time": "2025-01-08T09:05:00Z",
        "employee_id": "E2",
        "action": "customer.view",
        "customer_ids": ["C1"],
        "case_id": "K1",
        "fields": ["email"],
        "justification": "customer_contact",
    },
    {
        "time": "2025-01-07T10:00:00Z",
        "employee_id": "E3",
        "action": "review.delete",
        "review_id": "R2",
        "seller_id": "S2",
        "case_id": "K2",
        "justification": "review_report",
    },
]
SIGNALS = [
    {
        "time": "2025-02-01T00:00:00Z",
        "kind": "offplatform_contact",
        "seller_id": "S2",
        "email": "ros.rev@inbox.example",
    },
]
PII_VALUES = [
    "Quentin Quarrelsome",
    "quentin.q@mailbox.example",
    "+442079460111",
    "Rosalind Reviewer",
    "ros.rev@inbox.example",
    "+14155552671",
]


def write_dataset(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in FILES.items():
        (folder / name).write_text(text, encoding="utf-8")
    (folder / "access.jsonl").write_text("".join(json.dumps(a) + "\n" for a in ACCESS))
    (folder / "signals.jsonl").write_text("".join(json.dumps(s) + "\n" for s in SIGNALS))
    return folder


def snapshot(engine: Engine) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table, to prove a failed import changed nothing."""
    meta = MetaData()
    meta.reflect(engine)
    with engine.connect() as conn:
        return {
            name: sorted(map(tuple, conn.execute(table.select()).all()), key=repr)
            for name, table in sorted(meta.tables.items())
        }
