"""Every command, run with broken paths, settings and database URLs: one line, non-zero, no
traceback. The command list is read from the CLI itself, so a new command is covered (or this
test fails until it is)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer

from custodes.cli.main import app, run

BROKEN = "/proc/nope/x"  # a path under a folder that cannot exist or be created


def _commands() -> Iterator[tuple[tuple[str, ...], object]]:
    def walk(command: object, prefix: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], object]]:
        if hasattr(command, "list_commands"):  # a group (its commands load when asked for)
            ctx = typer.Context(command)  # type: ignore[arg-type]
            for name in command.list_commands(ctx):
                yield from walk(command.get_command(ctx, name), (*prefix, name))
        else:
            yield prefix, command

    yield from walk(typer.main.get_command(app), ())


def _filled(path: tuple[str, ...], command: object) -> list[str]:
    """The command with every required argument and option given a broken value."""
    args = list(path)
    for param in command.params:  # type: ignore[attr-defined]
        if not param.required:
            continue
        descriptor = getattr(param, "type_descriptor", None)
        kind = getattr(descriptor, "annotation", None) or getattr(param, "type", None)
        value = "1" if kind is int or getattr(kind, "name", "") == "integer" else BROKEN
        if param.param_type_name == "option":
            args += [param.opts[0], value]
        else:
            args.append(value)
    return args


# Commands whose broken run needs more than their required parameters (they have none that
# touch a path, and would otherwise do real work).
OVERRIDES: dict[tuple[str, ...], list[str]] = {
    ("detect",): ["detect", "--data", BROKEN, "--out", f"{BROKEN}/alerts.jsonl"],
    ("demo",): ["demo", "--home", BROKEN, "--customers", "20", "--employees", "10"],
    ("eval", "detect"): ["eval", "detect", "--customers", "0"],
    ("forensics", "eval"): ["forensics", "eval", "--customers", "0"],
}

COMMANDS = sorted(OVERRIDES.get(p, _filled(p, c)) for p, c in _commands())

_DB_FREE = [["ledger", "keygen"]]  # writes a key under CUSTODES_HOME, no database
_INIT = [["init"]]  # on a home that was not initialised, init is the remedy
NEEDS_NOTHING_BROKEN = {
    "database-unreachable": _DB_FREE,
    "database-host-unknown": _DB_FREE,
    "database-url-invalid": _DB_FREE,
    "home-not-initialised": _DB_FREE + _INIT,
    "limit-not-a-number": [],
}

SCENARIOS = {
    "home-unusable": {"CUSTODES_HOME": BROKEN},
    "limit-not-a-number": {"CUSTODES_REVEAL_LIMIT_HOUR": "abc"},
    "smtp-port-out-of-range": {"CUSTODES_SMTP_PORT": "99999"},
    "log-level-unknown": {"CUSTODES_LOG_LEVEL": "loud"},
    "database-unreachable": {"CUSTODES_DATABASE_URL": "postgresql://nope@127.0.0.1:1/none"},
    "database-host-unknown": {"CUSTODES_DATABASE_URL": "postgres://nope"},
    "database-url-invalid": {"CUSTODES_DATABASE_URL": "nope://what"},
    "home-not-initialised": {},
}


def _invoke(
    args: list[str], env: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys, home: Path
) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    for name in (
        "CUSTODES_DATABASE_URL",
        "CUSTODES_REVEAL_LIMIT_HOUR",
        "CUSTODES_SMTP_PORT",
        "CUSTODES_LOG_LEVEL",
        "CUSTODES_DEBUG",
        "PROMETHEUS_MULTIPROC_DIR",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CUSTODES_HOME", str(home))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(sys, "argv", ["custodes", *args])
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_:
        run()
    return int(exit_.value.code or 0), capsys.readouterr().err


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_every_command_fails_in_one_line(
    scenario: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:  # type: ignore[no-untyped-def]
    failures = []
    for number, args in enumerate(COMMANDS):
        # A home of its own per command: `init` succeeding must not initialise the others'.
        home = tmp_path / f"home{number}"
        code, err = _invoke(args, SCENARIOS[scenario], monkeypatch, capsys, home)
        lines = err.strip().splitlines()
        if code == 0 and args[:2] in NEEDS_NOTHING_BROKEN.get(scenario, []):
            continue  # it does not use what this scenario breaks, and its arguments were fine
        if (
            code == 0
            or len(lines) != 1
            or "Traceback" in err
            or not lines[0].startswith("custodes: error: ")
        ):
            failures.append((args, code, err[-300:]))
    assert not failures, failures


def test_every_command_is_in_the_matrix() -> None:
    names = {
        tuple(a for a in args if not a.startswith("-") and a not in (BROKEN, "1"))[:2]
        for args in COMMANDS
    }
    assert len(COMMANDS) >= 25
    for path, _ in _commands():
        assert any(path == n[: len(path)] for n in names), path


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        ({"CUSTODES_REVEAL_LIMIT_HOUR": "abc"}, "CUSTODES_REVEAL_LIMIT_HOUR"),
        ({"CUSTODES_DATABASE_URL": "postgres://nope"}, "CUSTODES_DATABASE_URL"),
        ({"CUSTODES_DATABASE_URL": "nope://what"}, "CUSTODES_DATABASE_URL"),
        ({"CUSTODES_HOME": BROKEN}, BROKEN.rsplit("/", 1)[0]),
        ({}, "custodes init"),
    ],
)
def test_the_line_names_what_to_fix(
    env: dict[str, str], fragment: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:  # type: ignore[no-untyped-def]
    code, err = _invoke(["keys", "status"], env, monkeypatch, capsys, tmp_path / "home")
    assert code == 1 and fragment in err, err


def test_database_password_is_never_printed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:  # type: ignore[no-untyped-def]
    url = "postgresql://admin:hunter2secret@127.0.0.1:1/none"
    code, err = _invoke(
        ["ledger", "status"], {"CUSTODES_DATABASE_URL": url}, monkeypatch, capsys, tmp_path / "home"
    )
    assert code == 1 and "hunter2secret" not in err and "***" in err


def test_broken_output_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:  # type: ignore[no-untyped-def]
    home = tmp_path / "home"
    code, _ = _invoke(["init"], {}, monkeypatch, capsys, home)
    assert code == 0
    a_file = tmp_path / "file.csv"
    a_file.write_text("x")
    for args in (
        ["ledger", "export", str(a_file / "sub")],
        ["ledger", "verify", str(tmp_path / "missing"), "--key", str(tmp_path / "missing.pub")],
        ["ledger", "verify-proof", str(a_file), "--key", str(tmp_path / "missing.pub")],
        ["policy", "apply", str(tmp_path), "--applied-by", "E1"],
        ["witness", "keygen", "w.test/1", "--out", str(a_file)],
    ):
        code, err = _invoke(args, {}, monkeypatch, capsys, home)
        lines = err.strip().splitlines()
        assert code != 0 and len(lines) == 1 and "Traceback" not in err, (args, err)


def test_missing_key_file_is_reported_as_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:  # type: ignore[no-untyped-def]
    args = ["ledger", "verify", str(tmp_path), "--key", "/missing.pub"]
    code, err = _invoke(args, {}, monkeypatch, capsys, tmp_path / "home")
    assert code == 1 and "/missing.pub: no such key file" in err, err
