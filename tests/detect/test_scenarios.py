"""Labelled scenarios: labels live beside the dataset, are deterministic and complete."""

from __future__ import annotations

from pathlib import Path

import pytest

from custodes.sim import SimConfig
from custodes.sim.scenarios import CONFOUNDERS, INSIDERS, generate_labelled
from tests.support.detect import SMALL


def test_labels_cover_every_scenario(labelled) -> None:
    folder, labels = labelled
    scenarios = {lb["scenario"] for lb in labels["labels"]}
    assert set(INSIDERS) <= scenarios
    assert set(CONFOUNDERS) <= scenarios
    assert {"new_hire", "night_shift"} <= scenarios
    assert not any(p.name.startswith("labels") for p in folder.iterdir())


def test_labels_must_not_be_inside_the_folder(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="beside"):
        generate_labelled(
            tmp_path / "d",
            tmp_path / "d" / "labels.json",
            SimConfig(seed=1, customers=500, employees=60, days=14),
        )


def test_same_config_same_bytes(tmp_path: Path, labelled) -> None:
    folder, _ = labelled
    generate_labelled(tmp_path / "d", tmp_path / "labels.json", SMALL)
    for name in ("access.jsonl", "cases.csv", "signals.jsonl", "reviews.csv"):
        assert (tmp_path / "d" / name).read_bytes() == (folder / name).read_bytes()
