"""From scored employee-days to alerts: budget, de-duplication, evidence, pseudonyms.

- **Budget**: at most ``budget`` alerts per day, highest scores first (ties: employee id).
- **Incidents**: an employee's later candidate days within ``dedup_days`` of their incident's
  last day are folded into it (``updates``, with their signals and evidence) instead of raising
  a new alert: one ongoing pattern is one thing to investigate, and it leaves the daily budget
  to other people. A day outside that quiet period opens a new incident.
- **Pseudonyms**: employees appear as ``employee_pseudonym(key, id)`` unless listed in
  ``disclosed`` (an investigator opened a case on them); a partner named by a pair signal too.
- **Evidence**: each alert cites the access lines (or ledger indexes) and outside-signal lines
  behind its signals, never customer ids or PII.

Candidates and alerts are few (far fewer than events), so this selection runs in Python.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import pyarrow as pa

from custodes.detect.features import DAY_S, Features
from custodes.detect.feedback import Feedback
from custodes.detect.scoring import Scored
from custodes.detect.signals import context as context_signals
from custodes.vault.pseudonym import employee_pseudonym

DEFAULT_BUDGET = 10
DEFAULT_DEDUP_DAYS = 7
EVIDENCE_PER_ALERT = 200
_EMPTY = pd.DataFrame({"ref": []})


@dataclass
class Alert:
    employee_id: str  # the real id; shown pseudonymised by ``to_json``
    day: int
    score: float
    fire_ts: int
    signals: list[dict[str, Any]]
    evidence: list[str] = field(default_factory=list)
    evidence_total: int = 0
    updates: list[dict[str, Any]] = field(default_factory=list)
    """Later days of the same person folded into this incident (day, score, fire_ts, signals)."""

    @property
    def last_day(self) -> int:
        return int(self.updates[-1]["day"]) if self.updates else self.day

    @property
    def days(self) -> list[int]:
        return [self.day] + [int(u["day"]) for u in self.updates]

    @property
    def fire_times(self) -> list[int]:
        """When the incident was raised, then when each later day added to it."""
        return [self.fire_ts] + [int(u["fire_ts"]) for u in self.updates]

    def to_json(self, show: Callable[[str], str]) -> dict[str, Any]:
        shown = show(self.employee_id)
        return {
            "alert_id": alert_id(shown, self.day),
            "employee_id": shown,
            "score": self.score,
            "time": iso(self.fire_ts),
            "day": _date(self.day),
            "signals": _shown_signals(self.signals, show),
            "updates": [
                {
                    "time": iso(u["fire_ts"]),
                    "day": _date(u["day"]),
                    "score": u["score"],
                    "signals": _shown_signals(u["signals"], show),
                }
                for u in self.updates
            ],
            "evidence": self.evidence,
            "evidence_total": self.evidence_total,
        }


def _date(day: int) -> str:
    return datetime.fromtimestamp(day * DAY_S, UTC).date().isoformat()


def _shown_signals(items: list[dict[str, Any]], show: Callable[[str], str]) -> list[dict[str, Any]]:
    signals = []
    for s in items:
        item = dict(s)
        if item.get("partner"):
            item["partner"] = show(item["partner"])
            item["detail"] = item["detail"].replace("{partner}", item["partner"])
        signals.append(item)
    return signals


def alert_id(shown: str, day: int) -> str:
    """An alert's id: the employee as shown (pseudonym unless revealed) and its day."""
    return hashlib.sha256(f"{shown}|{day}".encode()).hexdigest()[:16]


def iso(ts: int) -> str:
    return datetime.fromtimestamp(int(ts), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def shower(key: bytes, disclosed: Iterable[str] = ()) -> Callable[[str], str]:
    """How an employee id is shown: pseudonymised unless an investigator opened a case."""
    opened = set(disclosed)
    return lambda eid: eid if eid in opened else employee_pseudonym(key, eid)


_DETAILS = {
    "unexplained_access": "{v:.0f} customers' PII revealed in 7 days with no case, seller or "
    "manager path to them (peers: {e:.1f})",
    "unexplained_drift": "{v:.0f} customers' PII revealed in 28 days with no path to them "
    "(peers: {e:.1f}); the surprise beyond the last week's",
    "volume": "{v:.0f} customers read today against a norm of {e:.1f} (own or peers, x2)",
    "bulk_export": "{v:.0f} customers exported today (role norm {e:.2f})",
    "seller_concentration": "{v:.0f} of the customers read without explanation this week are "
    "tied to seller {ref} (chance: {e:.1f})",
    "metrics_outside": "sales metrics of {v:.0f} sellers outside own cases and portfolio today "
    "(norm {e:.1f})",
    "metrics_category": "{v:.0f} of the sellers whose metrics were pulled that way in 7 days "
    "are in {ref} (chance: {e:.1f})",
    "unexplained_deletion": "{v:.0f} reviews deleted in 7 days with no case on the review's "
    "customer or seller",
    "deletion_benefit": "{v:.0f} negative reviews of seller {ref} deleted in 7 days (chance: "
    "{e:.2f})",
    "suspicious_reinstatement": "{v:.0f} sellers reinstated without an appeal case opened by "
    "this person a day or more before",
    "recurring_pair": "{v:.0f} accesses in 14 days covered by {{partner}}'s cases or approvals",
    "outcome": "outside reports (off-platform contact, canary, complaint) about customers this "
    "person read without explanation; weight {v:.2f}",
}


def _signal_item(row: pd.Series) -> dict[str, Any]:
    name = str(row["signal"])
    ref = row["ref"] if isinstance(row["ref"], str) else None
    detail = _DETAILS.get(name, "{v}").format(
        v=float(row["value"]), e=float(row["expected"]), ref=ref or ""
    )
    item: dict[str, Any] = {
        "name": name,
        "value": round(float(row["value"]), 4),
        "expected": round(float(row["expected"]), 4),
        "contribution": round(float(row["contribution"]), 4),
        "detail": detail,
    }
    if name == "recurring_pair" and ref:
        item["partner"] = ref
    elif ref:
        item["ref"] = ref
    return item


def _context_items(day: pd.Series) -> list[dict[str, Any]]:
    items = []
    base = float(day["base"])
    dep_factor = 1.0 + context_signals.DEPARTING_FACTOR * float(day["departing"])
    if day["departing"]:
        items.append(
            {
                "name": "departing",
                "value": 1.0,
                "contribution": round(base * (dep_factor - 1.0), 4),
                "detail": "leaves within 14 days",
            }
        )
    if day["off_hours"]:
        items.append(
            {
                "name": "off_hours",
                "value": float(day["off_events"]),
                "contribution": round(base * dep_factor * context_signals.OFF_HOURS_FACTOR, 4),
                "detail": "events at hours this person rarely works",
            }
        )
    return items


def select(
    cands: pd.DataFrame,
    rows: pd.DataFrame,
    *,
    budget: int = DEFAULT_BUDGET,
    dedup_days: int = DEFAULT_DEDUP_DAYS,
    feedback: Feedback | None = None,
    roles: dict[str, str] | None = None,
    threshold: float = 0.0,
) -> list[Alert]:
    """Apply the daily budget and incident folding to candidate days (sorted by day, score).

    With ``feedback``, a day a benign verdict covers is skipped, and signal contributions are
    re-weighted for the person's role (a day that falls below ``threshold`` is skipped).
    """
    by_key: dict[tuple[str, int], pd.DataFrame] = {
        (str(k[0]), int(k[1])): g for k, g in rows.groupby(["employee_id", "day"], sort=True)
    }
    if feedback is not None:
        cands, by_key = _apply_feedback(cands, by_key, feedback, roles or {}, threshold)
    open_: dict[str, Alert] = {}
    alerts: list[Alert] = []
    cands = cands.sort_values(["day", "score", "employee_id"], ascending=[True, False, True])
    for day, group in cands.groupby("day", sort=True):
        taken = 0
        for _, c in group.iterrows():
            eid = str(c["employee_id"])
            sig = by_key.get((eid, int(day)))
            if sig is None:
                continue
            incident = open_.get(eid)
            folds = incident is not None and int(day) - incident.last_day < dedup_days
            if not folds and taken >= budget:
                continue
            sig = sig.sort_values(["contribution", "signal"], ascending=[False, True])
            items = _items(sig, c, feedback, (roles or {}).get(eid, ""))
            if incident is not None and folds:
                incident.updates.append(_update(int(day), c, items))
                continue
            alert = Alert(eid, int(day), float(c["score"]), int(c["fire_ts"]), items)
            alerts.append(alert)
            open_[eid] = alert
            taken += 1
    return alerts


def _items(
    sig: pd.DataFrame, c: pd.Series, feedback: Feedback | None, role: str
) -> list[dict[str, Any]]:
    items = [_signal_item(r) for _, r in sig.iterrows()] + _context_items(c)
    if feedback is not None:
        for item in items:
            note = feedback.note(role, str(item["name"]))
            if note is not None:
                item["feedback"] = note
    return items


def _update(day: int, c: pd.Series, items: list[dict[str, Any]]) -> dict[str, Any]:
    """A later day of the same person folded into their open incident."""
    return {"day": day, "score": float(c["score"]), "fire_ts": int(c["fire_ts"]), "signals": items}


def _apply_feedback(
    cands: pd.DataFrame,
    by_key: dict[tuple[str, int], pd.DataFrame],
    feedback: Feedback,
    roles: dict[str, str],
    threshold: float,
) -> tuple[pd.DataFrame, dict[tuple[str, int], pd.DataFrame]]:
    """Candidates and signal rows after investigators' verdicts (see ``feedback``)."""
    keep, scores = [], []
    out: dict[tuple[str, int], pd.DataFrame] = {}
    for i, c in enumerate(cands.itertuples()):
        key = (str(c.employee_id), int(c.day))
        sig = by_key.get(key)
        if sig is None:
            continue
        if feedback.suppresses(key[0], key[1], {str(n) for n in sig["signal"]}):
            feedback.suppressed += 1
            continue
        role = roles.get(key[0], "")
        weights = [feedback.weight(role, str(n)) for n in sig["signal"]]
        before = float(sig["contribution"].sum())
        sig = sig.assign(contribution=(sig["contribution"] * weights).round(4))
        after = float(sig["contribution"].sum())
        score = round(float(c.score) * (after / before), 3) if before > 0 else float(c.score)
        if score < threshold:
            feedback.reweighted_out += 1
            continue
        keep.append(i)
        scores.append(score)
        out[key] = sig
    kept = cands.iloc[keep].copy()
    kept["score"] = scores
    return kept, out


def attach_evidence(f: Features, scored: Scored, alerts: list[Alert]) -> None:
    """Fill each alert's evidence with resolvable references (input lines / ledger indexes)."""
    if not alerts:
        return
    keys: dict[str, list[Any]] = {"employee_id": [], "day": [], "signal": []}
    for a in alerts:
        for day, items in [(a.day, a.signals)] + [(u["day"], u["signals"]) for u in a.updates]:
            for s in items:
                keys["employee_id"].append(a.employee_id)
                keys["day"].append(day)
                keys["signal"].append(s["name"])
    chosen = f.engine.register(
        "chosen",
        pa.table(
            keys,
            schema=pa.schema(
                [("employee_id", pa.string()), ("day", pa.int64()), ("signal", pa.string())]
            ),
        ),
    )
    e = scored.evidence
    j = chosen.join(
        e,
        [
            chosen.employee_id == e.employee_id,
            chosen.signal == e.signal,
            e.day <= chosen.day,
            e.day > chosen.day - e.window,
        ],
    )
    j = j.select(
        employee_id=chosen.employee_id, day=chosen.day, source=e.source, ref_id=e.ref_id
    ).distinct()
    ev, sg = f.ev, f.signals
    events = (
        j.filter(j.source == "event")
        .join(ev, j.ref_id == ev.event_id)
        .select(j.employee_id, j.day, ts=ev.ts, ref=ev.evidence)
    )
    outside = (
        j.filter(j.source == "signal")
        .join(sg, j.ref_id == sg.signal_id)
        .select(j.employee_id, j.day, ts=sg.ts, ref=sg.evidence)
    )
    found = f.engine.fetch(events.union(outside).distinct())
    found = found.sort_values(["employee_id", "day", "ts", "ref"])
    groups = {(str(k[0]), int(k[1])): g for k, g in found.groupby(["employee_id", "day"])}
    for a in alerts:
        refs = list(
            dict.fromkeys(
                str(r) for day in a.days for r in groups.get((a.employee_id, day), _EMPTY)["ref"]
            )
        )
        if not refs:
            continue
        a.evidence_total = len(refs)
        a.evidence = refs[:EVIDENCE_PER_ALERT]
