"""Signals about sellers: a rival set's metrics pulled over a week, and a seller's negative
reviews deleted for it; the benign look-alikes (spread-out portfolio work, a fake five-star
ring removed under an investigation) stay quiet."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pyarrow as pa

from custodes.detect.engine import connect
from custodes.detect.features import DAY_S, HOUR_S, build_features
from custodes.detect.inputs import SCHEMAS, Inputs
from custodes.detect.scoring import DEFAULT_THRESHOLD, score
from custodes.detect.signals import concentration, privileged

T0 = 1_767_225_600  # 2026-01-01T00:00:00Z
CATEGORIES = 8
SELLERS = [f"S{i:02d}" for i in range(96)]  # S{i}'s category is i % 8: neighbours differ


def _table(name: str, rows: list[dict[str, Any]]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=SCHEMAS[name])


class _Log:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.cases: list[dict[str, Any]] = []

    def add(self, ts: int, who: str, action: str, **kw: Any) -> None:
        n = len(self.events)
        row = {"event_id": n, "evidence": f"t:{n}", "ts": ts, "employee_id": who}
        self.events.append({**row, "action": action, "n_fields": 0, "n_customers": 0, **kw})

    def case(self, ts: int, who: str, kind: str, **kw: Any) -> str:
        case_id = f"K{len(self.cases)}"
        self.cases.append(
            {"case_id": case_id, "kind": kind, "employee_id": who, "opened_ts": ts, **kw}
        )
        return case_id


def _inputs(log: _Log, staff: dict[str, str], reviews: list[dict[str, Any]]) -> Inputs:
    products = [
        {"product_id": f"P{s}", "seller_id": s, "category": f"cat{i % CATEGORIES}"}
        for i, s in enumerate(SELLERS)
    ]
    return Inputs(
        events=_table("events", log.events),
        event_customers=_table("event_customers", []),
        employees=_table(
            "employees", [{"employee_id": p, "role": role} for p, role in staff.items()]
        ),
        customers=_table(
            "customers", [{"customer_id": f"C{i}", "created_ts": 0} for i in range(9)]
        ),
        sellers=_table("sellers", [{"seller_id": s, "status": "active"} for s in SELLERS]),
        products=_table("products", products),
        orders=_table("orders", []),
        reviews=_table("reviews", reviews),
        cases=_table("cases", log.cases),
        signals=_table("signals", []),
    )


def _scored(inputs: Inputs) -> tuple[pd.DataFrame, pd.DataFrame]:
    engine = connect("duckdb")
    try:
        s = score(build_features(engine, inputs))
        return engine.fetch(s.signals), engine.fetch(s.days)
    finally:
        engine.close()


def _metrics_world() -> Inputs:
    """Eight seller-support staff pull one or two sellers' metrics a shift with no case,
    rotating through sellers of every category; P0 also pulls four rivals in cat3 a shift on
    days 10-12."""
    log = _Log()
    staff = {f"P{i}": "seller_support" for i in range(8)}
    rivals = [s for i, s in enumerate(SELLERS) if i % CATEGORIES == 3]
    for day in range(21):
        for i, person in enumerate(staff):
            ts = T0 + day * DAY_S + 10 * HOUR_S
            for j in range(1 + day % 2):
                seller = SELLERS[(i * 11 + day * 2 + j) % len(SELLERS)]
                log.add(ts + j * 600, person, "seller.metrics", seller_id=seller)
            if person == "P0" and 10 <= day <= 12:
                for j, seller in enumerate(rivals[(day - 10) * 4 : (day - 9) * 4]):
                    log.add(ts + 3600 + j * 300, person, "seller.metrics", seller_id=seller)
    return _inputs(log, staff, [])


def test_a_rival_set_pulled_over_a_week_adds_up() -> None:
    rows, days = _scored(_metrics_world())
    cat = rows[rows.signal == concentration.CATEGORY]
    mine = cat[cat.employee_id == "P0"].set_index("day").sort_index()
    d10, d12 = T0 // DAY_S + 10, T0 // DAY_S + 12
    assert mine.loc[d12, "ref"] == "cat3" and mine.loc[d12, "value"] >= 12
    assert mine.loc[d12, "contribution"] > mine.contribution.get(d10, 0.0)
    top = days[days.employee_id == "P0"].score.max()
    assert top >= DEFAULT_THRESHOLD
    others = days[days.employee_id != "P0"]
    assert (others.score < DEFAULT_THRESHOLD / 2).all()  # portfolio work across categories


def _review(i: int, seller: str, rating: int) -> dict[str, Any]:
    return {
        "review_id": f"R{i}",
        "customer_id": f"C{i % 9}",
        "product_id": f"P{seller}",
        "seller_id": seller,
        "rating": rating,
        "created_ts": 0,
        "status": "published",
    }


def _deletion_world() -> Inputs:
    """Six moderators each delete a reported negative review every fourth shift (2,000
    negative reviews of 1,000 sellers to choose from); M0 also deletes three negative reviews
    of S05 under cases opened minutes before; M1 removes eight five-star reviews of S07 (a
    fake ring) under an investigation of it."""
    log = _Log()
    staff = {f"M{i}": "trust_safety" for i in range(6)}
    reviews = [_review(i, f"X{i // 2}", 1 + i % 2) for i in range(2000)]
    reviews += [_review(7000 + j, "S05", 2) for j in range(2)]
    k = 0
    for day in range(21):
        for i, person in enumerate(staff):
            if (day + i) % 4:
                continue
            ts = T0 + day * DAY_S + 9 * HOUR_S
            r = reviews[k]
            k += 1
            case = log.case(ts - 300, person, "review_report", seller_id=r["seller_id"])
            log.add(ts, person, "review.delete", review_id=r["review_id"], case_id=case)
    bought = [_review(5000 + j, "S05", 1) for j in range(3)]
    ring = [_review(6000 + j, "S07", 5) for j in range(8)]
    for j, r in enumerate(bought):
        ts = T0 + (10 + j // 2) * DAY_S + 14 * HOUR_S + j * 900
        case = log.case(ts - 240, "M0", "review_report", seller_id="S05")
        log.add(ts, "M0", "review.delete", review_id=r["review_id"], case_id=case)
    log.case(T0 + 12 * DAY_S, "M1", "investigation", seller_id="S07")
    for j, r in enumerate(ring):
        log.add(T0 + 12 * DAY_S + 3600 + j * 120, "M1", "review.delete", review_id=r["review_id"])
    return _inputs(log, staff, reviews + bought + ring)


def test_negative_reviews_of_one_seller_deleted_for_it() -> None:
    rows, days = _scored(_deletion_world())
    benefit = rows[rows.signal == privileged.BENEFIT]
    assert set(benefit.employee_id) == {"M0"}  # the fake ring is five-star: no benefit
    top = benefit.sort_values("contribution").iloc[-1]
    assert top.ref == "S05" and top.value == 3
    assert days[days.employee_id == "M0"].score.max() >= DEFAULT_THRESHOLD
    assert (days[days.employee_id != "M0"].score < DEFAULT_THRESHOLD).all()
