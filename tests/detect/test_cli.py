"""The detect commands as the lead mounts them (typer app in-process, keyring in a temp home)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from custodes.cli.detect_commands import detect_command, eval_app
from custodes.vault.keyring import FileKeyring


@pytest.fixture
def app() -> typer.Typer:
    app = typer.Typer()
    app.command("detect")(detect_command)
    app.add_typer(eval_app, name="eval")
    return app


def test_detect_writes_alert_lines(
    app, labelled, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("CUSTODES_HOME", str(home))
    FileKeyring.open_or_create(home / "keys")
    out = tmp_path / "alerts.jsonl"
    result = CliRunner().invoke(
        app, ["detect", "--data", str(labelled[0]), "--out", str(out), "--budget", "3"]
    )
    assert result.exit_code == 0, result.output
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines and "alerts ->" in result.output and "explained" in result.output
    assert all(json.loads(line)["employee_id"].startswith("ep_") for line in lines)


def test_detect_without_keyring_says_what_to_do(
    app, labelled, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CUSTODES_HOME", str(tmp_path / "empty"))
    result = CliRunner().invoke(
        app, ["detect", "--data", str(labelled[0]), "--out", str(tmp_path / "a.jsonl")]
    )
    assert result.exit_code != 0
    assert "custodes init" in str(result.exception)
