"""Commands loaded when they run, so `custodes --help` stays instant.

Each command's module imports what its job needs (pandas and Ibis for detection, FastAPI for
serving, SQLAlchemy almost everywhere); importing them all to print the command list took
1.5 s. `LazyGroup` lists every command from a table of names and one-line summaries and
imports a command's module only when that command is resolved (to run it or show its own
help). A test checks each summary against the loaded command's help, so the two cannot drift.
"""

from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass
from typing import Any, ClassVar

import typer
from typer.core import TyperCommand, TyperGroup


@dataclass(frozen=True)
class Lazy:
    """Where a command lives (`module:attribute`, a Typer app or a function) and its summary."""

    target: str
    summary: str

    def load(self, name: str) -> Any:
        """The click command for `name`: the module is imported here, not before."""
        module_name, attribute = self.target.split(":")
        found = getattr(importlib.import_module(module_name), attribute)
        if isinstance(found, typer.Typer):
            # A group even with one command (`customers erase`), as `add_typer` would make it.
            command: Any = typer.main.get_group(found)
        else:
            single = typer.Typer(add_completion=False)
            single.command(name)(found)
            command = typer.main.get_command(single)
        command.name = name
        return command


def summary_of(command: Any) -> str:
    """The first paragraph of a command's help, on one line (what the command list shows)."""
    text = inspect.cleandoc(command.short_help or command.help or "")
    return " ".join(text.split("\n\n")[0].split())


class LazyGroup(TyperGroup):
    """A Typer group whose subcommands are imported on first use (see the module docstring)."""

    lazy: ClassVar[dict[str, Lazy]] = {}  # set by a subclass: name -> where it lives

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._listing = False

    def list_commands(self, ctx: Any) -> list[str]:
        return [*super().list_commands(ctx), *(n for n in self.lazy if n not in self.commands)]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        command = super().get_command(ctx, cmd_name)
        entry = self.lazy.get(cmd_name)
        if command is not None or entry is None:
            return command
        if self._listing:
            # A row of the command list only: the name and summary, nothing imported.
            return TyperCommand(name=cmd_name, short_help=entry.summary)
        command = entry.load(cmd_name)
        self.commands[cmd_name] = command
        return command

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False
