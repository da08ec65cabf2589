"""Held-out worlds: drawn from wide ranges, deterministic per seed, labelled beside the folder."""

from __future__ import annotations

import json
from pathlib import Path

from custodes.sim import SimConfig
from custodes.sim.scenarios import INSIDERS, generate_labelled
from custodes.sim.scenarios.randomise import WorldDraw, build_randomised

SMALL = SimConfig(seed=4242, customers=1500, employees=120, days=21)


def test_draws_vary_across_seeds_and_stay_in_range() -> None:
    draws = [WorldDraw.draw(seed) for seed in range(5001, 5021)]
    assert len({d.new_hire_share for d in draws}) > 10
    for d in draws:
        assert 0.02 <= d.new_hire_share <= 0.15 and 0 <= d.night_share <= 0.12
        assert 0 <= d.broad_analysts <= 6 and d.jitter_s in (0, 30, 120, 600)
        assert 0 <= d.vacation_share <= 0.15 and 0 <= d.late_case_share <= 0.3


def test_a_randomised_world_is_deterministic_and_labelled(tmp_path: Path) -> None:
    world, labels, draw = build_randomised(SMALL)
    again, labels_again, _ = build_randomised(SMALL)
    assert [e.time for e in world.log.events] == [e.time for e in again.log.events]
    assert [lb.to_json() for lb in labels] == [lb.to_json() for lb in labels_again]
    insiders = {lb.scenario for lb in labels if lb.kind == "insider"}
    assert insiders <= set(INSIDERS) and len(insiders) >= 6
    hires = [lb for lb in labels if lb.scenario == "new_hire"]
    assert hires and all(lb.start.weekday() == 0 and lb.start.hour == 9 for lb in hires)
    start, end = SMALL.start, SMALL.end
    assert all(start <= e.time < end for e in world.log.events)
    generate_labelled(tmp_path / "w", tmp_path / "w.labels.json", SMALL, randomised=True)
    doc = json.loads((tmp_path / "w.labels.json").read_text())
    assert doc["draw"]["new_hire_share"] == draw.new_hire_share
    assert not any(p.suffix == ".json" for p in (tmp_path / "w").iterdir())
