"""Running `custodes` in-process: Typer's CliRunner isolation around the real entry point, so
errors are the one-line messages a user sees. What needs a process of its own (servers,
signals, concurrent processes) runs `python -m custodes.cli.main` and is marked `slow`."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from custodes.cli.main import run as entry_point

ORIGIN = "custodes.test/ledger"


@dataclass(frozen=True)
class Result:
    """What a run printed and returned (the fields of `subprocess.CompletedProcess` tests read)."""

    args: list[str]
    returncode: int
    stdout: str
    stderr: str


def invoke(args: list[str], env: Mapping[str, str | None], stdin: str | None = None) -> Result:
    """`custodes ARGS` in this process, with `env` applied (None unsets) and output captured."""
    runner = CliRunner()
    argv = sys.argv
    code: object = 0
    with runner.isolation(input=stdin, env=dict(env)) as (out, err, _):
        sys.argv = ["custodes", *args]
        try:
            entry_point()
        except SystemExit as exit_:
            code = exit_.code
        finally:
            sys.argv = argv
            sys.stdout.flush()
            sys.stderr.flush()
        stdout, stderr = out.getvalue().decode(), err.getvalue().decode()
    returncode = code if isinstance(code, int) else (0 if code is None else 1)
    return Result(args, returncode, stdout, stderr)


def home_env(home: Path, **extra: str | None) -> dict[str, str | None]:
    """CUSTODES_HOME set, the embedded database (no CUSTODES_DATABASE_URL from the caller)."""
    return {"CUSTODES_HOME": str(home), "CUSTODES_DATABASE_URL": None, **extra}


def run(home: Path, *args: str, ok: bool = True) -> Result:
    """A command on `home` with the test ledger origin; `ok` asserts it succeeded."""
    result = invoke(list(args), home_env(home, CUSTODES_LEDGER_ORIGIN=ORIGIN))
    if ok:
        assert result.returncode == 0, result.stderr
    return result


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """An initialised CUSTODES_HOME (keys and an SQLite database)."""
    home = tmp_path / "home"
    run(home, "init")
    return home


def custodes(home: Path, *args: str, ok: bool = True) -> Result:
    """A command on `home`; `ok=False` asserts the failure is one line with no traceback."""
    result = invoke(list(args), home_env(home))
    check(result, ok)
    return result


def check(result: Result | subprocess.CompletedProcess[str], ok: bool) -> None:
    if ok:
        assert result.returncode == 0, result.stderr
    else:
        assert result.returncode != 0
        assert "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
