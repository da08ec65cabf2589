"""Scoring alerts against labels: what counts as a true alert, recall, and bad alert files."""

from __future__ import annotations

from pathlib import Path

import pytest

from custodes.errors import InputError
from custodes.evaluation.detection import read_alert_times, score_alerts, summary
from custodes.evaluation.errors import AlertsFileError

LABELS = {
    "employee_days": 1000,
    "labels": [
        {"scenario": "email_sale", "kind": "insider", "employee_id": "E1",
         "start": "2026-01-10T00:00:00Z", "end": "2026-01-12T00:00:00Z"},
        {"scenario": "metrics_sale", "kind": "insider", "employee_id": "E2",
         "start": "2026-01-10T00:00:00Z", "end": "2026-01-12T00:00:00Z"},
        {"scenario": "peak_week", "kind": "confounder", "employee_id": "E3",
         "start": "2026-01-05T00:00:00Z", "end": "2026-01-12T00:00:00Z"},
    ],
}  # fmt: skip
T = 1_768_003_200.0  # 2026-01-10T00:00:00Z


def test_an_alert_is_true_only_at_or_after_the_episode_start() -> None:
    fired = [
        ("E1", T - 3600, ()),
        ("E1", T + 7200, ()),
        ("E2", T - 60, ()),
        ("E3", T, ()),
        ("E9", T, ()),
    ]
    report = score_alerts(1, fired, LABELS)
    assert report.true_alerts == 1 and report.alerts == 5
    assert report.insiders == {"email_sale": [True], "metrics_sale": [False]}
    assert report.ttd_hours == [2.0]
    assert report.false_alert_kinds == {"baseline": 3, "peak_week": 1}
    assert report.confounders == {"peak_week": [True]}
    result = summary([report])
    assert result["recall"] == 0.5 and result["precision"] == 0.2
    assert result["alerts_per_1000_employee_days"] == 5.0


def test_clock_noise_of_the_world_is_allowed_before_the_start() -> None:
    noisy = {**LABELS, "draw": {"jitter_s": 120}}
    fired = [("E1", T - 100, ()), ("E2", T - 200, ())]
    report = score_alerts(1, fired, noisy)
    assert report.insiders == {"email_sale": [True], "metrics_sale": [False]}
    assert report.ttd_hours == [0.0] and report.true_alerts == 1


def test_an_incident_raised_early_is_true_once_an_update_falls_in_the_episode() -> None:
    report = score_alerts(
        1, [("E1", T - 86400, (T - 3600, T + 1800)), ("E3", T, (T + 60,))], LABELS
    )
    assert report.alerts == 2 and report.true_alerts == 1
    assert report.insiders["email_sale"] == [True] and report.ttd_hours == [0.5]
    assert report.false_alert_kinds == {"peak_week": 1}


def test_alerts_shown_under_pseudonyms_are_matched_through_show() -> None:
    report = score_alerts(1, [("p-E1", T + 60, ())], LABELS, show=lambda eid: f"p-{eid}")
    assert report.true_alerts == 1 and report.insiders["email_sale"] == [True]


def test_a_bad_alerts_file_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "alerts.jsonl"
    path.write_text('{"employee_id": "E1", "time": "2026-01-10T01:00:00Z"}\n\n{"time": 1}\n')
    with pytest.raises(AlertsFileError, match=r"alerts.jsonl:3: not an alert") as info:
        read_alert_times(path)
    assert isinstance(info.value, InputError)
    path.write_text('{"employee_id": "E1", "time": "2026-01-10T01:00:00Z"}\n')
    assert read_alert_times(path) == [("E1", T + 3600, ())]
    path.write_text(
        '{"employee_id": "E1", "time": "2026-01-10T01:00:00Z", '
        '"updates": [{"time": "2026-01-11T00:00:00Z"}]}\n'
    )
    assert read_alert_times(path) == [("E1", T + 3600, (T + 86400,))]
    with pytest.raises(AlertsFileError, match="cannot read"):
        read_alert_times(tmp_path / "missing.jsonl")
