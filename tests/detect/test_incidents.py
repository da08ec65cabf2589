"""One ongoing pattern of one person is one incident: later days fold into it as updates and
leave the daily budget to other people; a day after the quiet period opens a new one."""

from __future__ import annotations

import pandas as pd

from custodes.detect.alerts import select
from custodes.detect.features import DAY_S


def _day(employee: str, day: int, score: float, signal: str = "volume") -> tuple[dict, dict]:
    cand = {
        "employee_id": employee,
        "day": day,
        "score": score,
        "fire_ts": day * DAY_S + 3600,
        "base": score,
        "departing": 0.0,
        "off_hours": 0.0,
        "off_events": 0,
    }
    row = {
        "employee_id": employee,
        "day": day,
        "signal": signal,
        "value": 9.0,
        "expected": 1.0,
        "contribution": score,
        "ref": None,
    }
    return cand, row


def _select(days: list[tuple[dict, dict]], **kw: int) -> list:
    cands = pd.DataFrame([c for c, _ in days])
    rows = pd.DataFrame([r for _, r in days])
    return select(cands, rows, **kw)


def test_later_days_of_one_person_fold_into_the_open_incident() -> None:
    days = [
        _day("E1", 100, 5.0),
        _day("E1", 103, 6.0, "bulk_export"),  # a new signal joins the same incident
        _day("E1", 109, 4.5),  # within 7 days of the incident's last day
        _day("E1", 117, 7.0),  # after a quiet week: a new incident
    ]
    alerts = _select(days, budget=10, dedup_days=7)
    assert [(a.day, a.days) for a in alerts] == [(100, [100, 103, 109]), (117, [117])]
    first = alerts[0]
    assert first.fire_times == [100 * DAY_S + 3600, 103 * DAY_S + 3600, 109 * DAY_S + 3600]
    assert first.updates[0]["signals"][0]["name"] == "bulk_export"
    shown = first.to_json(lambda eid: f"p-{eid}")
    assert [u["day"] for u in shown["updates"]] == ["1970-04-14", "1970-04-20"]
    assert shown["employee_id"] == "p-E1" and shown["updates"][0]["score"] == 6.0


def test_folded_days_leave_the_budget_to_others() -> None:
    days = [_day("E1", 100, 9.0), _day("E1", 101, 9.0), _day("E2", 101, 5.0)]
    alerts = _select(days, budget=1, dedup_days=7)
    assert [(a.employee_id, a.day) for a in alerts] == [("E1", 100), ("E2", 101)]
    assert alerts[0].days == [100, 101]


def test_without_a_quiet_period_every_day_is_its_own_alert() -> None:
    days = [_day("E1", 100, 5.0), _day("E1", 101, 5.0)]
    assert [a.days for a in _select(days, budget=10, dedup_days=0)] == [[100], [101]]
