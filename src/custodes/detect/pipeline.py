"""The whole detection run: inputs → features → signals → scores → alerts (JSON Lines).

``run(inputs, engine)`` is what the CLI, the evaluation, the benchmark and the tests call; it
returns real employee ids (for evaluation) and ``write_jsonl`` applies pseudonyms on the way
out, so nothing that leaves the process names an employee unless a case was opened on them.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from custodes.detect import alerts as alerting
from custodes.detect.engine import Engine
from custodes.detect.features import build_features, explained_share
from custodes.detect.feedback import Disposition, resolve
from custodes.detect.inputs import Inputs
from custodes.detect.scoring import DEFAULT_THRESHOLD, candidates, score
from custodes.detect.spark_inputs import SparkInputs


@dataclass(frozen=True)
class Settings:
    threshold: float = DEFAULT_THRESHOLD
    budget: int = alerting.DEFAULT_BUDGET
    dedup_days: int = alerting.DEFAULT_DEDUP_DAYS
    evidence: bool = True
    dispositions: tuple[Disposition, ...] = ()
    """Investigators' verdicts on earlier alerts (``feedback``)."""
    pseudonym_key: bytes | None = None
    """How alert ids were made (employees as shown); None matches ids made from real ids."""
    disclosed: tuple[str, ...] = ()


@dataclass
class Result:
    alerts: list[alerting.Alert]
    stats: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)


def run(inputs: Inputs | SparkInputs, engine: Engine, settings: Settings | None = None) -> Result:
    """Score every employee-day and select alerts (ids are real here; see ``write_jsonl``)."""
    settings = settings or Settings()
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    f = build_features(engine, inputs)
    timings["features"] = time.perf_counter() - t0
    t1 = time.perf_counter()
    scored = score(f)
    cands = engine.fetch(candidates(scored, settings.threshold))
    chosen = cands[["employee_id", "day"]]
    rows = engine.fetch(
        scored.signals.semi_join(
            engine.register("cand_keys", _keys(chosen)), ["employee_id", "day"]
        )
    )
    timings["signals"] = time.perf_counter() - t1
    t2 = time.perf_counter()
    fb = None
    roles: dict[str, str] = {}
    if settings.dispositions:
        roster = engine.fetch(f.employees.select("employee_id", "role"))
        roles = dict(
            zip(roster["employee_id"].astype(str), roster["role"].astype(str), strict=True)
        )
        show = (
            alerting.shower(settings.pseudonym_key, settings.disclosed)
            if settings.pseudonym_key is not None
            else (lambda eid: eid)
        )
        fb = resolve(
            list(settings.dispositions),
            cands,
            rows,
            roles,
            lambda eid, day: alerting.alert_id(show(eid), day),
        )
    alerts = alerting.select(
        cands,
        rows,
        budget=settings.budget,
        dedup_days=settings.dedup_days,
        feedback=fb,
        roles=roles,
        threshold=settings.threshold,
    )
    if settings.evidence:
        alerting.attach_evidence(f, scored, alerts)
    timings["alerts"] = time.perf_counter() - t2
    stats = {
        **explained_share(f),
        "employee_days": int(engine.fetch(f.grid.aggregate(n=f.grid.count()))["n"].iloc[0]),
        "candidates": len(cands),
        "alerts": len(alerts),
        **(fb.stats() if fb is not None else {}),
    }
    return Result(alerts, stats, timings)


def _keys(frame: Any) -> Any:
    import pyarrow as pa

    return pa.table(
        {
            "employee_id": pa.array(frame["employee_id"].astype(str).tolist(), pa.string()),
            "day": pa.array([int(d) for d in frame["day"]], pa.int64()),
        }
    )


def to_json_lines(result: Result, key: bytes, disclosed: tuple[str, ...] = ()) -> list[str]:
    show = alerting.shower(key, disclosed)
    return [json.dumps(a.to_json(show), ensure_ascii=False, sort_keys=False) for a in result.alerts]


def write_jsonl(result: Result, out: Path, key: bytes, disclosed: tuple[str, ...] = ()) -> int:
    lines = to_json_lines(result, key, disclosed)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return len(lines)
