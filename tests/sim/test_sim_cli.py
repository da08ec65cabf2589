"""`custodes sim`: refuses to overwrite, prints a table, plants insiders with labels beside the
folder; `custodes eval score` measures alerts written by `custodes detect` against them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from custodes.cli.sim_commands import chosen_scenarios, default_labels_path
from custodes.errors import InputError
from tests.support.cli import custodes

SMALL = ("--employees", "90", "--customers", "1500", "--days", "21", "--seed", "5")


def test_sim_plants_insiders_and_eval_score_measures_detect(tmp_path: Path) -> None:
    home, out = tmp_path / "home", tmp_path / "world"
    custodes(home, "init")
    made = custodes(
        home,
        "sim",
        str(out),
        *SMALL,
        "--insiders",
        "3",
        "--scenarios",
        "email_sale,departing_export",
    )
    assert "┃ file" in made.stdout and "SimSummary" not in made.stdout
    labels_path = default_labels_path(out)
    assert labels_path.parent == out.parent and not any(p.suffix == ".json" for p in out.iterdir())
    labels = json.loads(labels_path.read_text())
    planted = [lb for lb in labels["labels"] if lb["kind"] == "insider"]
    assert sorted(lb["scenario"] for lb in planted) == [
        "departing_export",
        "email_sale",
        "email_sale",
    ]
    assert len({lb["employee_id"] for lb in planted}) == 3
    alerts = tmp_path / "alerts.jsonl"
    custodes(home, "detect", "--data", str(out), "--out", str(alerts))
    shown = {json.loads(line)["employee_id"] for line in alerts.read_text().splitlines()}
    assert all(e.startswith("ep_") for e in shown)  # pseudonymised, as always
    scored = json.loads(
        custodes(home, "eval", "score", str(labels_path), str(alerts), "--json").stdout
    )
    assert scored["insiders"] == 3 and scored["alerts"] == len(alerts.read_text().splitlines())
    found = sum(int(v.split("/")[0]) for v in scored["recall_per_scenario"].values())
    assert found >= 1  # the pseudonyms were matched to the labelled ids
    # Refuses to overwrite without --force (folder and labels alike).
    refused = custodes(home, "sim", str(out), *SMALL, ok=False)
    assert "--force" in refused.stderr
    custodes(home, "sim", str(out), *SMALL, "--force")


@pytest.mark.parametrize(
    "args",
    [
        ("sim", "/proc/custodes-nope/x"),
        ("sim", "{file}"),
        ("sim", "{tmp}/w", "--insiders", "2", "--scenarios", "bribery"),
        ("sim", "{tmp}/w", "--scenarios", "email_sale"),
        ("eval", "score", "{file}", "{file}"),
    ],
)
def test_sim_and_score_errors_are_one_line(tmp_path: Path, args: tuple[str, ...]) -> None:
    a_file = tmp_path / "f.csv"
    a_file.write_text("x\n")
    home = tmp_path / "home"
    if args[0] == "eval":
        custodes(home, "init")
    custodes(home, *(a.format(file=a_file, tmp=tmp_path) for a in args), ok=False)


def test_scenarios_cycle_and_are_checked() -> None:
    assert chosen_scenarios(3, "low_and_slow, email_sale") == (
        "low_and_slow",
        "email_sale",
        "low_and_slow",
    )
    assert len(chosen_scenarios(10, None)) == 10
    with pytest.raises(InputError, match="unknown scenario"):
        chosen_scenarios(1, "nope")
