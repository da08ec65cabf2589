"""`custodes --help` lists every command without importing any of them (no pandas, Ibis,
pyspark, FastAPI or uvicorn), and each listed summary is the loaded command's own."""

from __future__ import annotations

import subprocess
import sys

import pytest
import typer

from custodes.cli.lazy import summary_of
from custodes.cli.main import COMMANDS, app

HEAVY = ("pandas", "ibis", "pyspark", "fastapi", "uvicorn", "starlette", "numpy", "duckdb")

# Runs the real entry point for `--help`, then reports which heavy packages were imported.
PROBE = f"""
import sys
sys.argv = ["custodes", "--help"]
from custodes.cli.main import run
try:
    run()
except SystemExit as exit_:
    code = exit_.code
heavy = sorted({{m.split(".")[0] for m in sys.modules}} & set({HEAVY!r}))
print("HEAVY:" + ",".join(heavy), "CODE:" + str(code), file=sys.stderr)
"""


def test_help_imports_no_heavy_package() -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=60
    )
    assert "CODE:0" in result.stderr, result.stderr
    assert "HEAVY: " in result.stderr, result.stderr  # nothing between the colon and the space
    for name in COMMANDS:
        assert f" {name} " in result.stdout, name


def test_the_probe_would_see_a_heavy_import() -> None:
    """The probe above is not vacuous: a command that is run does import its packages."""
    probe = PROBE.replace('"--help"', '"detect", "--help"')
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120
    )
    assert "CODE:0" in result.stderr and "pandas" in result.stderr, result.stderr


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_listed_summary_is_the_commands_own(name: str) -> None:
    group = typer.main.get_command(app)
    command = group.get_command(typer.Context(group), name)  # type: ignore[attr-defined]
    assert command is not None and command.name == name
    assert COMMANDS[name].summary == summary_of(command)


def test_every_module_command_is_listed() -> None:
    """Each `*_app` in a listed module is itself listed (a new sub-app cannot be forgotten)."""
    import importlib

    targets = {lazy.target for lazy in COMMANDS.values()}
    for module_name in {t.split(":")[0] for t in targets}:
        module = importlib.import_module(module_name)
        for attribute, value in vars(module).items():
            if isinstance(value, typer.Typer):
                assert f"{module_name}:{attribute}" in targets, attribute
