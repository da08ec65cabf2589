"""The slow signal: a steady trickle of unexplained reveals adds up over four weeks."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from custodes.detect.engine import connect
from custodes.detect.features import DAY_S, HOUR_S, build_features
from custodes.detect.inputs import SCHEMAS, Inputs
from custodes.detect.scoring import score
from custodes.detect.signals import unexplained

T0 = 1_767_225_600  # 2026-01-01T00:00:00Z
STAFF = [f"A{i}" for i in range(12)]


def _table(name: str, rows: list[dict[str, Any]]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=SCHEMAS[name])


def _trickle() -> Inputs:
    """Twelve agents; each sees two customers a day under cases, except that every agent
    also reveals one unexplained customer per week (the role's norm), and A0 one a day."""
    events, links, cases = [], [], []
    n = 0
    for day in range(35):
        for person in STAFF:
            leaks = 1 if person == "A0" else int(day % 7 == STAFF.index(person) % 7)
            for j in range(2 + leaks):
                customer = f"c{person}-{day}-{j}"
                ts = T0 + day * DAY_S + 10 * HOUR_S + j * 60
                events.append(
                    {
                        "event_id": n,
                        "evidence": f"t:{n}",
                        "ts": ts,
                        "employee_id": person,
                        "action": "customer.view",
                        "n_fields": 1,
                        "n_customers": 1,
                        "reveal": True,
                    }
                )
                links.append({"event_id": n, "customer_id": customer})
                if j < 2:  # the work under a case; the extra one has no path
                    cases.append(
                        {
                            "case_id": f"K{n}",
                            "kind": "customer_contact",
                            "employee_id": person,
                            "customer_id": customer,
                            "opened_ts": ts - 600,
                        }
                    )
                n += 1
    customers = [{"customer_id": link["customer_id"], "created_ts": 0} for link in links]
    return Inputs(
        events=_table("events", events),
        event_customers=_table("event_customers", links),
        employees=_table("employees", [{"employee_id": p, "role": "support_agent"} for p in STAFF]),
        customers=_table("customers", customers),
        sellers=_table("sellers", []),
        products=_table("products", []),
        orders=_table("orders", []),
        reviews=_table("reviews", []),
        cases=_table("cases", cases),
        signals=_table("signals", []),
    )


def test_drift_adds_what_the_week_cannot_see() -> None:
    engine = connect("duckdb")
    try:
        f = build_features(engine, _trickle())
        rows = engine.fetch(score(f).signals)
    finally:
        engine.close()
    drift = rows[rows.signal == unexplained.DRIFT]
    assert set(drift[drift.contribution >= 1].employee_id) == {"A0"}
    assert (drift[drift.employee_id != "A0"].contribution < 0.1).all()  # peers: noise only
    last = drift[drift.day == drift.day.max()].iloc[0]
    assert last.value == 28 and 0 < last.contribution <= unexplained.DRIFT_CAP
    # Over four weeks it says more than the week does on the same day (it adds, not repeats).
    week = rows[(rows.signal == unexplained.NAME) & (rows.employee_id == "A0")]
    assert float(week[week.day == last.day].contribution.iloc[0]) < unexplained.CAP
