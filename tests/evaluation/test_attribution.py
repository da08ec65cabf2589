"""The attribution evaluation on one small simulated marketplace meets the issue's targets."""

from __future__ import annotations

from custodes.evaluation.attribution import evaluate


def test_targets_on_a_small_world() -> None:
    result = evaluate((21,), customers=6000, employees=80, trials=12)["overall"]
    assert result["single_20_plus"]["n"] >= 30
    assert result["single_20_plus"]["rate"] >= 0.95
    assert result["canary_top1"]["rate"] == 1.0
    assert result["merged_both_in_top3"]["rate"] >= 0.9
    assert result["team_source_in_team_block"]["rate"] >= 0.9
