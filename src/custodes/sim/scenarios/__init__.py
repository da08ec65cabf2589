"""Insider scenarios and benign confounders on top of the baseline marketplace, with labels.

``generate_labelled(out_dir, labels_path, config)`` writes a dataset folder with every insider
scenario and confounder in it, and a labels file *beside* it (never inside: a detector reading
the folder must not see the answers). Labels are JSON::

    {"seed", "config": {...}, "employee_days", "labels": [{"scenario", "kind"
     ("insider" | "confounder"), "employee_id", "start", "end", "role", "note"}]}
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from custodes.sim.config import SimConfig
from custodes.sim.errors import SimError
from custodes.sim.generate import World, build, write
from custodes.sim.scenarios.base import Label, Stage
from custodes.sim.scenarios.confounders import CONFOUNDERS, Adjustments, label_adjusted
from custodes.sim.scenarios.insiders import INSIDERS
from custodes.sim.writer import SimSummary, iso

__all__ = [
    "CONFOUNDERS",
    "INSIDERS",
    "Label",
    "Labelled",
    "build_labelled",
    "employee_days",
    "generate_labelled",
    "read_labels",
]

EVAL_CONFIG = SimConfig(customers=60_000, employees=400, days=30)
"""The size the evaluation runs at (seed varies): enough employee-days to measure 2 per 1,000."""


@dataclass
class Labelled:
    world: World
    labels: list[Label]


def employee_days(world: World) -> int:
    """Employee-days in the window: days each person was employed (any part of the day)."""
    total = 0
    for e in world.employees:
        lo = max(world.config.start, e.hired_at)
        hi = min(world.config.end, e.left_at) if e.left_at else world.config.end
        if hi > lo:
            total += ((hi - timedelta(seconds=1)).date() - lo.date()).days + 1
    return total


def build_labelled(
    config: SimConfig,
    *,
    insiders: tuple[str, ...] | None = None,
    confounders: tuple[str, ...] | None = None,
) -> Labelled:
    """The baseline plus the chosen (default: all) confounders and insider scenarios."""
    adj = Adjustments()
    world = build(config, adjust=adj)
    stage = Stage(world)
    label_adjusted(stage, adj)
    for name in confounders if confounders is not None else tuple(CONFOUNDERS):
        CONFOUNDERS[name](stage)
    for name in insiders if insiders is not None else tuple(INSIDERS):
        INSIDERS[name](stage)
    return Labelled(world, stage.labels)


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
    except ValueError:
        return False
    return True


def generate_labelled(
    out_dir: Path,
    labels_path: Path,
    config: SimConfig | None = None,
    *,
    insiders: tuple[str, ...] | None = None,
    confounders: tuple[str, ...] | None = None,
    randomised: bool = False,
) -> SimSummary:
    """Write the dataset folder and, beside it, its labels.

    ``randomised`` draws the world's behaviour from wide ranges (a held-out world, see
    ``randomise``); the draw is recorded in the labels.
    """
    from custodes.sim.scenarios.randomise import build_randomised

    out_dir, labels_path = Path(out_dir), Path(labels_path)
    if _inside(labels_path, out_dir):
        raise SimError("the labels file must be kept beside the dataset folder, not inside it")
    config = config or SimConfig()
    draw: dict[str, Any] | None = None
    if randomised:
        world, labels, drawn = build_randomised(config)
        labelled = Labelled(world, labels)
        draw = dataclasses.asdict(drawn)
    else:
        labelled = build_labelled(config, insiders=insiders, confounders=confounders)
    summary = write(labelled.world, out_dir)
    labels_path.parent.mkdir(parents=True, exist_ok=True)
    doc: dict[str, Any] = {
        "seed": config.seed,
        "config": {
            "customers": config.customers,
            "employees": config.employees,
            "days": config.days,
            "start": iso(config.start),
        },
        "employee_days": employee_days(labelled.world),
        "labels": [lb.to_json() for lb in labelled.labels],
    }
    if draw is not None:
        doc["draw"] = draw
    labels_path.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    return summary


def read_labels(path: Path) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(Path(path).read_text(encoding="utf-8"))
    return doc
