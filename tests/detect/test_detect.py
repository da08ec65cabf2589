"""Detection on a small labelled world: alerts, evidence, pseudonyms, determinism, bad input."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from custodes.dataset.reader import DatasetError
from custodes.detect.engine import connect
from custodes.detect.inputs import events_from_records, load_folder
from custodes.detect.pipeline import Result, run, to_json_lines
from custodes.errors import InputError
from custodes.evaluation.detection import score_seed
from custodes.sim.scenarios import INSIDERS
from custodes.vault.pseudonym import employee_pseudonym
from tests.support.detect import KEY

EMAIL = re.compile(r"[^\s@\"]+@[^\s@\"]+\.[a-z]{2,}")


@pytest.fixture(scope="module")
def result(labelled: tuple[Path, dict]) -> Result:
    engine = connect("duckdb")
    try:
        return run(load_folder(labelled[0]), engine)
    finally:
        engine.close()


def test_alert_lines_have_the_documented_fields(result: Result) -> None:
    lines = to_json_lines(result, KEY)
    assert lines
    for line in lines:
        alert = json.loads(line)
        assert {"employee_id", "score", "time", "signals", "evidence"} <= set(alert)
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", alert["time"])
        assert alert["signals"] and all(
            {"name", "value", "detail"} <= set(s) for s in alert["signals"]
        )
        assert alert["score"] > 0


def test_most_insiders_alert_and_confounders_do_not(result: Result, labelled) -> None:
    report = score_seed(11, result, labelled[1])
    hits = [h for v in report.insiders.values() for h in v]
    assert set(report.insiders) == set(INSIDERS)
    assert sum(hits) >= len(hits) - 2  # a small world: most, not necessarily all
    assert report.true_alerts >= report.alerts / 2


def test_employees_are_pseudonymised_and_no_pii_leaves(result: Result, labelled) -> None:
    text = "\n".join(to_json_lines(result, KEY))
    assert not re.search(r"\bE\d{4}\b", text)
    assert not EMAIL.search(text)
    assert not re.search(r"\bC\d{6}\b", text)  # customers are not even named by id
    first = result.alerts[0].employee_id
    shown = json.loads(to_json_lines(result, KEY, (first,))[0])["employee_id"]
    assert shown == first
    assert json.loads(to_json_lines(result, KEY)[0])["employee_id"] == employee_pseudonym(
        KEY, first
    )


def test_evidence_resolves_to_input_lines(result: Result, labelled) -> None:
    folder = labelled[0]
    access = (folder / "access.jsonl").read_text(encoding="utf-8").splitlines()
    signals = (folder / "signals.jsonl").read_text(encoding="utf-8").splitlines()
    for alert in result.alerts:
        assert alert.evidence
        for ref in alert.evidence:
            name, line = ref.split(":")
            lines = access if name == "access.jsonl" else signals
            record = json.loads(lines[int(line) - 1])
            if name == "access.jsonl":
                assert record["employee_id"] == alert.employee_id or any(
                    s["name"] in ("recurring_pair", "outcome") for s in alert.signals
                )


def test_same_input_same_alerts(result: Result, labelled) -> None:
    engine = connect("duckdb")
    try:
        again = run(load_folder(labelled[0]), engine)
    finally:
        engine.close()
    assert to_json_lines(again, KEY) == to_json_lines(result, KEY)


def test_explained_share_is_reported(result: Result) -> None:
    s = result.stats
    assert 0.5 < s["explained_share"] <= 1.0
    assert 0.0 < s["first_explained_share"] <= s["explained_share"] + 1e-9


def test_budget_caps_alerts_per_day(labelled) -> None:
    from custodes.detect.pipeline import Settings

    engine = connect("duckdb")
    try:
        capped = run(load_folder(labelled[0]), engine, Settings(budget=1, evidence=False))
    finally:
        engine.close()
    days = [a.day for a in capped.alerts]
    assert len(days) == len(set(days))


@pytest.mark.parametrize(
    ("mutate", "where"),
    [
        (
            lambda lines: lines.__setitem__(2, lines[2].replace('"action": "', '"action": "x')),
            "access.jsonl:3:",
        ),
        (lambda lines: lines.__setitem__(4, lines[4][:-3]), "access.jsonl:5:"),
        (
            lambda lines: lines.__setitem__(
                1, lines[1].replace('"employee_id": "E', '"employee_id": "Z')
            ),
            "access.jsonl:2:",
        ),
    ],
)
def test_bad_access_line_is_named(labelled, tmp_path: Path, mutate, where: str) -> None:
    folder = tmp_path / "data"
    shutil.copytree(labelled[0], folder)
    path = folder / "access.jsonl"
    lines = path.read_text(encoding="utf-8").splitlines()
    mutate(lines)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(DatasetError) as err:
        load_folder(folder)
    assert str(err.value).startswith(where)


def test_bad_csv_row_is_named(labelled, tmp_path: Path) -> None:
    folder = tmp_path / "data"
    shutil.copytree(labelled[0], folder)
    path = folder / "cases.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[3] = lines[3].replace("customer_contact", "gossip").replace("order_dispute", "gossip")
    lines[3] = re.sub(
        r",(review_report|seller_appeal|seller_support|investigation),", ",gossip,", lines[3]
    )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(DatasetError, match=r"^cases\.csv:4: kind"):
        load_folder(folder)


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(InputError):
        load_folder(tmp_path / "nope")


def test_ledger_records_become_events() -> None:
    from datetime import UTC, datetime

    events, links = events_from_records(
        [
            {
                "index": 7,
                "time": datetime(2026, 1, 5, 9, tzinfo=UTC),
                "employee_id": "ep_x",
                "action": "customer.view",
                "customer_ids": ["cp_a", "cp_a", "cp_b"],
                "fields": ["email"],
                "approver_id": "ep_y",
            },
        ]
    )
    row = events.to_pylist()[0]
    assert row["evidence"] == "ledger:7" and row["reveal"] and row["approver_id"] == "ep_y"
    assert links.to_pylist() == [
        {"event_id": 7, "customer_id": "cp_a"},
        {"event_id": 7, "customer_id": "cp_b"},
    ]
