"""Investigator feedback: benign verdicts suppress that person's pattern, verdicts re-weight a
signal for the role, and every change is visible in the alert or the run's stats."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from custodes.detect.engine import connect
from custodes.detect.feedback import Disposition, read_dispositions
from custodes.detect.inputs import load_folder
from custodes.detect.pipeline import Result, Settings, run, to_json_lines
from custodes.errors import InputError
from tests.support.detect import KEY


def _run(folder: Path, dispositions: tuple[Disposition, ...] = ()) -> Result:
    engine = connect("duckdb")
    try:
        settings = Settings(dispositions=dispositions, pseudonym_key=KEY)
        return run(load_folder(folder), engine, settings)
    finally:
        engine.close()


@pytest.fixture(scope="module")
def baseline(labelled: tuple[Path, dict]) -> Result:
    return _run(labelled[0])


def _alert(result: Result, index: int) -> dict:
    return json.loads(to_json_lines(result, KEY)[index])


def test_a_benign_verdict_suppresses_that_persons_pattern(
    labelled: tuple[Path, dict], baseline: Result
) -> None:
    first = _alert(baseline, 0)
    who = baseline.alerts[0].employee_id
    before = [a for a in baseline.alerts if a.employee_id == who]
    verdict = Disposition(first["alert_id"], "benign", "known project")
    after = _run(labelled[0], (verdict,))
    ids = {json.loads(line)["alert_id"] for line in to_json_lines(after, KEY)}
    assert first["alert_id"] not in ids
    assert after.stats["dispositions_matched"] == 1
    assert after.stats["suppressed_by_feedback"] >= 1
    names = {s["name"] for s in first["signals"]}
    for alert in after.alerts:  # what is left for them has a signal outside the pattern
        if alert.employee_id == who and alert.day >= before[0].day:
            assert {s["name"] for s in alert.signals} - names


def test_verdicts_reweight_a_signal_for_the_role_and_say_so(
    labelled: tuple[Path, dict], baseline: Result
) -> None:
    lines = [json.loads(line) for line in to_json_lines(baseline, KEY)]
    malicious = tuple(Disposition(a["alert_id"], "malicious") for a in lines[:3])
    boosted = _run(labelled[0], malicious)
    assert boosted.stats["suppressed_by_feedback"] == 0
    annotated = [
        s
        for line in to_json_lines(boosted, KEY)
        for s in json.loads(line)["signals"]
        if "feedback" in s
    ]
    assert annotated and all(s["feedback"]["malicious"] >= 1 for s in annotated)
    assert all(s["feedback"]["weight"] > 1 for s in annotated)
    by_id = {json.loads(line)["alert_id"]: json.loads(line) for line in to_json_lines(boosted, KEY)}
    assert by_id[lines[0]["alert_id"]]["score"] > lines[0]["score"]


def test_unknown_alert_ids_are_counted_not_guessed(labelled: tuple[Path, dict]) -> None:
    result = _run(labelled[0], (Disposition("0" * 16, "benign"),))
    assert result.stats["dispositions_unmatched"] == 1
    assert result.stats["suppressed_by_feedback"] == 0


def test_dispositions_file_errors_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_text(
        '{"alert_id": "ab", "disposition": "benign", "note": "ok"}\n'
        '{"alert_id": "cd", "disposition": "maybe"}\n'
    )
    with pytest.raises(InputError, match=r"d.jsonl:2: disposition must be one of"):
        read_dispositions(path)
    path.write_text('\ufeff{"alert_id": "ab", "disposition": "malicious"}\n\n')
    assert read_dispositions(path) == [Disposition("ab", "malicious", "")]
