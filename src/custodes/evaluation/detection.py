"""``custodes eval detect``: labelled worlds at several seeds, detection, and the figures.

For each seed: generate the dataset folder and its labels (beside it), run detection exactly as
``custodes detect`` would, then score alerts against labels. An alert is *true* when it names
an insider at or after their episode began (less the world's clock noise, ``jitter_s``: the
log's times are off by that much, the label's are not); recall counts insiders with at least one
true alert; time to detect is the first true alert's ``time`` minus the episode start (simulated
time). Default seeds (1001–1005) were never used while choosing weights or thresholds (those
were set on seeds 101–103).
"""

from __future__ import annotations

import json
import math
import statistics
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from custodes.detect.engine import connect
from custodes.detect.inputs import load_folder
from custodes.detect.pipeline import Result, Settings, run
from custodes.evaluation.errors import AlertsFileError
from custodes.sim.config import SimConfig
from custodes.sim.scenarios import EVAL_CONFIG, generate_labelled, read_labels

EVAL_SEEDS = (1001, 1002, 1003, 1004, 1005)
TRAINING_SEEDS = (101, 102, 103)
HELD_OUT_SEEDS = (5001, 5002, 5003, 5004, 5005)
"""Randomised worlds (``sim.scenarios.randomise``) that no weight or threshold was set on."""


@dataclass
class SeedReport:
    seed: int
    employee_days: int
    alerts: int
    true_alerts: int
    insiders: dict[str, list[bool]]  # scenario -> detected per insider
    ttd_hours: list[float]
    false_alert_kinds: dict[str, int] = field(default_factory=dict)
    explained_share: float = 0.0
    first_explained_share: float = 0.0
    confounders: dict[str, list[bool]] = field(default_factory=dict)  # kind -> alerted per person
    ttd_by_scenario: dict[str, list[float]] = field(default_factory=dict)
    draw: dict[str, Any] | None = None


def _parse(t: str) -> float:
    return datetime.fromisoformat(t.replace("Z", "+00:00")).timestamp()


def score_seed(seed: int, result: Result, labels: dict[str, Any]) -> SeedReport:
    fired = [
        (a.employee_id, float(a.fire_ts), tuple(float(t) for t in a.fire_times[1:]))
        for a in result.alerts
    ]
    report = score_alerts(seed, fired, labels)
    report.explained_share = float(result.stats.get("explained_share", 0.0))
    report.first_explained_share = float(result.stats.get("first_explained_share", 0.0))
    return report


Fired = tuple[str, float, tuple[float, ...]]
"""An alert as scored: the employee as shown, when it was raised, and when later days were
folded into it (an incident's updates)."""


def score_alerts(
    seed: int,
    fired: list[Fired],
    labels: dict[str, Any],
    show: Callable[[str], str] = lambda eid: eid,
) -> SeedReport:
    """Score alerts (employee as shown, fire time, update times) against labels.

    An incident is true when it was raised, or updated, at or after an episode of the person
    began; time to detect is from the first such moment.

    ``show`` maps a labelled employee id to how alerts show it (a pseudonym, unless revealed),
    so alerts written by ``custodes detect`` can be scored without un-pseudonymising them.
    """
    insiders: dict[str, list[dict[str, Any]]] = {}
    confounders: dict[str, str] = {}
    for lb in labels["labels"]:
        for shown in {lb["employee_id"], show(lb["employee_id"])}:
            if lb["kind"] == "insider":
                insiders.setdefault(shown, []).append(lb)
            else:
                confounders.setdefault(shown, lb["scenario"])
    # A world with clock noise logs each event up to ``jitter_s`` off the time its label was
    # written with: an alert on the first logged action may carry a time a little before it.
    slack = float((labels.get("draw") or {}).get("jitter_s", 0))
    first_hit: dict[str, float] = {}
    true_alerts = 0
    false_kinds: dict[str, int] = {}
    for employee, fire_ts, later in fired:
        eps = insiders.get(employee, [])
        start = min(_parse(e["start"]) for e in eps) if eps else 0.0
        hits = [t for t in (fire_ts, *later) if eps and t >= start - slack]
        if hits:
            true_alerts += 1
            real = eps[0]["employee_id"]
            first_hit[real] = min(first_hit.get(real, math.inf), max(hits[0] - start, 0.0))
        else:
            kind = confounders.get(employee, "baseline")
            false_kinds[kind] = false_kinds.get(kind, 0) + 1
    per: dict[str, list[bool]] = {}
    ttd: dict[str, list[float]] = {}
    for lb in sorted(labels["labels"], key=lambda x: x["employee_id"]):  # stable: label order
        if lb["kind"] == "insider":
            per.setdefault(lb["scenario"], []).append(lb["employee_id"] in first_hit)
            if lb["employee_id"] in first_hit:
                ttd.setdefault(lb["scenario"], []).append(first_hit[lb["employee_id"]] / 3600)
    confounded = _confounders_alerted(labels, {item[0] for item in fired}, show)
    return SeedReport(
        seed=seed,
        employee_days=int(labels["employee_days"]),
        alerts=len(fired),
        true_alerts=true_alerts,
        insiders=per,
        ttd_hours=[v / 3600 for v in first_hit.values()],
        false_alert_kinds=false_kinds,
        confounders=confounded,
        ttd_by_scenario=ttd,
        draw=labels.get("draw"),
    )


def _confounders_alerted(
    labels: dict[str, Any], alerted: set[str], show: Callable[[str], str]
) -> dict[str, list[bool]]:
    """Per confounder kind, whether each labelled person was alerted at all."""
    confounded: dict[str, list[bool]] = {}
    for lb in labels["labels"]:
        if lb["kind"] == "confounder":
            hit = bool({lb["employee_id"], show(lb["employee_id"])} & alerted)
            confounded.setdefault(lb["scenario"], []).append(hit)
    return confounded


def evaluate(
    seeds: tuple[int, ...] = EVAL_SEEDS,
    config: SimConfig = EVAL_CONFIG,
    *,
    settings: Settings | None = None,
    backend: str = "duckdb",
    workdir: Path | None = None,
    randomised: bool = False,
) -> list[SeedReport]:
    """Generate each seed's world (``randomised``: a held-out, domain-randomised one), run
    detection as ``custodes detect`` does, and score it."""
    reports = []
    with tempfile.TemporaryDirectory(prefix="custodes-eval-") as tmp:
        base = Path(workdir) if workdir else Path(tmp)
        for seed in seeds:
            folder, labels_path = base / f"seed-{seed}" / "data", base / f"seed-{seed}.json"
            cfg = SimConfig(
                seed=seed,
                customers=config.customers,
                employees=config.employees,
                days=config.days,
                start=config.start,
            )
            generate_labelled(folder, labels_path, cfg, randomised=randomised)
            engine = connect(backend)
            try:
                result = run(load_folder(folder), engine, settings)
            finally:
                engine.close()
            reports.append(score_seed(seed, result, read_labels(labels_path)))
    return reports


def _rate(hits: list[bool]) -> float:
    return round(sum(hits) / len(hits), 4) if hits else 0.0


def _spread(values: list[float]) -> dict[str, float]:
    return {
        "min": round(min(values), 4),
        "median": round(statistics.median(values), 4),
        "max": round(max(values), 4),
    }


def per_seed(r: SeedReport) -> dict[str, Any]:
    hits = [h for v in r.insiders.values() for h in v]
    return {
        "seed": r.seed,
        "recall": _rate(hits),
        "precision": round(r.true_alerts / r.alerts, 4) if r.alerts else 1.0,
        "alerts_per_1000_employee_days": round(1000 * r.alerts / r.employee_days, 3)
        if r.employee_days
        else 0.0,
        "median_ttd_hours": round(statistics.median(r.ttd_hours), 1) if r.ttd_hours else None,
    }


def summary(reports: list[SeedReport]) -> dict[str, Any]:
    per: dict[str, list[bool]] = {}
    confounders: dict[str, list[bool]] = {}
    ttd_by: dict[str, list[float]] = {}
    for r in reports:
        for scenario, hits in r.insiders.items():
            per.setdefault(scenario, []).extend(hits)
        for kind, hits in r.confounders.items():
            confounders.setdefault(kind, []).extend(hits)
        for scenario, hours in r.ttd_by_scenario.items():
            ttd_by.setdefault(scenario, []).extend(hours)
    found = sum(sum(h) for h in per.values())
    total = sum(len(h) for h in per.values())
    alerts = sum(r.alerts for r in reports)
    true_alerts = sum(r.true_alerts for r in reports)
    days = sum(r.employee_days for r in reports)
    ttd = [t for r in reports for t in r.ttd_hours]
    false_kinds: dict[str, int] = {}
    for r in reports:
        for k, v in r.false_alert_kinds.items():
            false_kinds[k] = false_kinds.get(k, 0) + v
    seeds = [per_seed(r) for r in reports]
    return {
        "seeds": [r.seed for r in reports],
        "insiders": total,
        "recall": round(found / total, 4) if total else 0.0,
        "recall_per_scenario": {k: f"{sum(v)}/{len(v)}" for k, v in sorted(per.items())},
        "median_ttd_hours_per_scenario": {
            k: round(statistics.median(v), 1) for k, v in sorted(ttd_by.items())
        },
        "max_ttd_hours_per_scenario": {k: round(max(v), 1) for k, v in sorted(ttd_by.items())},
        "alerts": alerts,
        "precision": round(true_alerts / alerts, 4) if alerts else 1.0,
        "alerts_per_1000_employee_days": round(1000 * alerts / days, 3) if days else 0.0,
        "employee_days": days,
        "median_time_to_detect_hours": round(statistics.median(ttd), 1) if ttd else None,
        "false_alerts_by_kind": false_kinds,
        "confounders_alerted": {k: f"{sum(v)}/{len(v)}" for k, v in sorted(confounders.items())},
        "per_seed": seeds,
        "spread": {
            name: _spread([float(s[name]) for s in seeds])
            for name in ("recall", "precision", "alerts_per_1000_employee_days")
        },
        "draws": {str(r.seed): r.draw for r in reports if r.draw is not None},
        "explained_share": round(statistics.mean(r.explained_share for r in reports), 4),
        "first_explained_share": round(
            statistics.mean(r.first_explained_share for r in reports), 4
        ),
    }


def read_alert_times(path: Path) -> list[Fired]:
    """(employee as shown, fire time, update times) of each alert in a ``custodes detect``
    JSON Lines file."""
    out = []
    try:
        lines = Path(path).read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise AlertsFileError(f"{path}: cannot read the alerts ({type(exc).__name__})") from None
    for n, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        try:
            alert = json.loads(text)
            later = tuple(_parse(str(u["time"])) for u in alert.get("updates", []))
            out.append((str(alert["employee_id"]), _parse(str(alert["time"])), later))
        except (ValueError, KeyError, TypeError):
            raise AlertsFileError(
                f"{path}:{n}: not an alert (employee_id and time needed)"
            ) from None
    return out
