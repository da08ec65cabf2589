"""Investigator feedback: dispositions of past alerts change what is raised next.

A dispositions file is JSON Lines, one verdict per line::

    {"alert_id": "3f2a…", "disposition": "benign" | "malicious", "note": "…"}

``alert_id`` is the id ``custodes detect`` wrote. Each verdict is matched to the candidate day
of this run that produced that alert (same employee as shown, same day), so the run must cover
the alert's day, as a nightly rolling window does. Then:

- **Suppression** (person): a benign alert's pattern (that person, that set of signals) does
  not alert again for them; a later day alerts only with a signal outside the pattern.
- **Re-weighting** (role): each signal's contribution for people of the same role is scaled by
  ``(malicious + 1) / (benign + 1)`` over the verdicts on alerts it was part of, bounded to
  ``[WEIGHT_MIN, WEIGHT_MAX]``, so a signal investigators keep clearing in a role counts less
  there and one they keep confirming counts more. The alert says so in its signal items.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from custodes.errors import InputError

DISPOSITIONS = ("benign", "malicious")
WEIGHT_MIN, WEIGHT_MAX = 0.25, 2.0


@dataclass(frozen=True)
class Disposition:
    alert_id: str
    disposition: str
    note: str = ""


def read_dispositions(path: Path) -> list[Disposition]:
    """Parse a dispositions file; a bad line is refused with its file and line."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read the dispositions ({type(exc).__name__})") from None
    out = []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}:{n}: malformed JSON ({exc.msg})") from None
        if not isinstance(raw, dict) or not isinstance(raw.get("alert_id"), str):
            raise InputError(f"{path}:{n}: alert_id is missing")
        if raw.get("disposition") not in DISPOSITIONS:
            raise InputError(f"{path}:{n}: disposition must be one of {', '.join(DISPOSITIONS)}")
        note = raw.get("note") or ""
        if not isinstance(note, str):
            raise InputError(f"{path}:{n}: note must be a string")
        out.append(Disposition(raw["alert_id"], raw["disposition"], note))
    return out


@dataclass
class Feedback:
    """Verdicts resolved against this run's candidates."""

    patterns: dict[str, list[tuple[int, frozenset[str]]]] = field(default_factory=dict)
    counts: dict[tuple[str, str], list[int]] = field(default_factory=dict)  # [benign, malicious]
    matched: int = 0
    unmatched: int = 0
    suppressed: int = 0
    reweighted_out: int = 0

    def weight(self, role: str, signal: str) -> float:
        benign, malicious = self.counts.get((role, signal), (0, 0))
        return min(WEIGHT_MAX, max(WEIGHT_MIN, (malicious + 1) / (benign + 1)))

    def note(self, role: str, signal: str) -> dict[str, object] | None:
        if (role, signal) not in self.counts:
            return None
        benign, malicious = self.counts[(role, signal)]
        return {
            "weight": round(self.weight(role, signal), 3),
            "benign": benign,
            "malicious": malicious,
        }

    def suppresses(self, employee: str, day: int, signals: set[str]) -> bool:
        """True when a benign verdict on this person, on this day or before, covers all of
        today's signals."""
        return any(
            day >= since and signals <= pattern
            for since, pattern in self.patterns.get(employee, [])
        )

    def stats(self) -> dict[str, int]:
        return {
            "dispositions_matched": self.matched,
            "dispositions_unmatched": self.unmatched,
            "suppressed_by_feedback": self.suppressed,
            "below_threshold_after_feedback": self.reweighted_out,
        }


def resolve(
    dispositions: list[Disposition],
    cands: pd.DataFrame,
    rows: pd.DataFrame,
    roles: dict[str, str],
    alert_id: Callable[[str, int], str],
) -> Feedback:
    """Match verdicts to candidate days by alert id; learn patterns and per-role counts."""
    feedback = Feedback()
    if not dispositions:
        return feedback
    signals: dict[tuple[str, int], frozenset[str]] = {
        (str(k[0]), int(k[1])): frozenset(str(s) for s in g["signal"])
        for k, g in rows.groupby(["employee_id", "day"], sort=False)
    }
    by_id = {
        alert_id(str(c.employee_id), int(c.day)): (str(c.employee_id), int(c.day))
        for c in cands.itertuples()
    }
    for d in dispositions:
        key = by_id.get(d.alert_id)
        if key is None or key not in signals:
            feedback.unmatched += 1
            continue
        feedback.matched += 1
        employee, day = key
        names = signals[key]
        role = roles.get(employee, "")
        for name in names:
            feedback.counts.setdefault((role, name), [0, 0])[d.disposition == "malicious"] += 1
        if d.disposition == "benign":
            feedback.patterns.setdefault(employee, []).append((day, names))
    return feedback
