"""``custodes eval detect``: labelled worlds at several seeds, detection, and the figures.

For each seed: generate the dataset folder and its labels (beside it), run detection exactly as
``custodes detect`` would, then score alerts against labels. An alert is *true* when it names
an insider at or after their episode began; recall counts insiders with at least one true
alert; time to detect is the first true alert's ``time`` minus the episode start (simulated
time). Default seeds (1001–1005) were never used while choosing weights or thresholds (those
were set on seeds 101–103).
"""

from __future__ import annotations

import json
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
from custodes.sim.config import SimConfig
from custodes.sim.scenarios import EVAL_CONFIG, generate_labelled, read_labels

EVAL_SEEDS = (1001, 1002, 1003, 1004, 1005)
TRAINING_SEEDS = (101, 102, 103)


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


def _parse(t: str) -> float:
    return datetime.fromisoformat(t.replace("Z", "+00:00")).timestamp()


def score_seed(seed: int, result: Result, labels: dict[str, Any]) -> SeedReport:
    fired = [(a.employee_id, float(a.fire_ts)) for a in result.alerts]
    report = score_alerts(seed, fired, labels)
    report.explained_share = float(result.stats.get("explained_share", 0.0))
    report.first_explained_share = float(result.stats.get("first_explained_share", 0.0))
    return report


def score_alerts(
    seed: int,
    fired: list[tuple[str, float]],
    labels: dict[str, Any],
    show: Callable[[str], str] = lambda eid: eid,
) -> SeedReport:
    """Score (employee as shown, fire time) pairs against labels.

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
    first_hit: dict[str, float] = {}
    true_alerts = 0
    false_kinds: dict[str, int] = {}
    for employee, fire_ts in fired:
        eps = insiders.get(employee, [])
        starts = [_parse(e["start"]) for e in eps]
        if eps and fire_ts >= min(starts):
            true_alerts += 1
            real = eps[0]["employee_id"]
            first_hit.setdefault(real, fire_ts - min(starts))
        else:
            kind = confounders.get(employee, "baseline")
            false_kinds[kind] = false_kinds.get(kind, 0) + 1
    per: dict[str, list[bool]] = {}
    for lb in sorted(labels["labels"], key=lambda x: x["employee_id"]):  # stable: label order
        if lb["kind"] == "insider":
            per.setdefault(lb["scenario"], []).append(lb["employee_id"] in first_hit)
    return SeedReport(
        seed=seed,
        employee_days=int(labels["employee_days"]),
        alerts=len(fired),
        true_alerts=true_alerts,
        insiders=per,
        ttd_hours=[v / 3600 for v in first_hit.values()],
        false_alert_kinds=false_kinds,
    )


def evaluate(
    seeds: tuple[int, ...] = EVAL_SEEDS,
    config: SimConfig = EVAL_CONFIG,
    *,
    settings: Settings | None = None,
    backend: str = "duckdb",
    workdir: Path | None = None,
) -> list[SeedReport]:
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
            generate_labelled(folder, labels_path, cfg)
            engine = connect(backend)
            try:
                result = run(load_folder(folder), engine, settings)
            finally:
                engine.close()
            reports.append(score_seed(seed, result, read_labels(labels_path)))
    return reports


def summary(reports: list[SeedReport]) -> dict[str, Any]:
    per: dict[str, list[bool]] = {}
    for r in reports:
        for scenario, hits in r.insiders.items():
            per.setdefault(scenario, []).extend(hits)
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
    return {
        "seeds": [r.seed for r in reports],
        "insiders": total,
        "recall": round(found / total, 4) if total else 0.0,
        "recall_per_scenario": {k: f"{sum(v)}/{len(v)}" for k, v in sorted(per.items())},
        "alerts": alerts,
        "precision": round(true_alerts / alerts, 4) if alerts else 1.0,
        "alerts_per_1000_employee_days": round(1000 * alerts / days, 3) if days else 0.0,
        "employee_days": days,
        "median_time_to_detect_hours": round(statistics.median(ttd), 1) if ttd else None,
        "false_alerts_by_kind": false_kinds,
        "explained_share": round(statistics.mean(r.explained_share for r in reports), 4),
        "first_explained_share": round(
            statistics.mean(r.first_explained_share for r in reports), 4
        ),
    }


def read_alert_times(path: Path) -> list[tuple[str, float]]:
    """(employee as shown, fire time) of each alert in a ``custodes detect`` JSON Lines file."""
    from custodes.errors import InputError

    out = []
    try:
        lines = Path(path).read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read the alerts ({type(exc).__name__})") from None
    for n, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        try:
            alert = json.loads(text)
            out.append((str(alert["employee_id"]), _parse(str(alert["time"]))))
        except (ValueError, KeyError, TypeError):
            raise InputError(f"{path}:{n}: not an alert (employee_id and time needed)") from None
    return out
