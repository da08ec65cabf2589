"""Requests past their deadline expire once, on the record; the approval key must be private;
reads under an investigation are flagged in the ledger."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from custodes.access.signing import load_or_create_approval_key
from custodes.errors import ConfigError
from custodes.ledger.storage import LedgerReader
from tests.support.api import Api


def _entries(api: Api) -> list[dict]:
    reader = LedgerReader(api.engine)
    return [json.loads(e) for e in reader.entries(0, reader.head().size)]


def test_expired_requests_are_recorded_once(api: Api) -> None:
    body = {
        "action": "review.delete",
        "resource": {"kind": "review", "ids": ["R1"]},
        "justification": {"code": "review_report", "case_id": "K3"},
    }
    assert api.call("POST", "/v1/requests", "T1", json=body).status_code == 202
    door = api.client.app.state.door  # type: ignore[attr-defined]
    later = datetime.now(UTC) + timedelta(days=2)
    door.clock = lambda: later
    assert door.expire() == 1
    assert door.expire() == 0  # a second sweep (or another worker's) records nothing more
    expired = [e for e in _entries(api) if e["decision"] == "expired"]
    assert len(expired) == 1 and expired[0]["reason"] == "deadline"


def test_an_approval_key_readable_by_others_is_refused(tmp_path: Path) -> None:
    load_or_create_approval_key(tmp_path)
    key = next(tmp_path.iterdir())
    os.chmod(key, 0o644)
    with pytest.raises(ConfigError, match="readable by others"):
        load_or_create_approval_key(tmp_path)


def test_reads_under_an_investigation_are_flagged(api: Api) -> None:
    why = {"code": "investigation", "case_id": "K6"}
    ok = api.call(
        "POST", "/v1/customers/C1/reveal", "I1", json={"fields": ["email"], "justification": why}
    )
    assert ok.status_code == 200
    assert _entries(api)[-1]["extra"]["case_kind"] == "investigation"
