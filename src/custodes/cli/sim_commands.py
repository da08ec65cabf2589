"""``custodes sim``: the command's body (``cli.main`` registers it).

With ``--insiders N`` the folder gets N planted insiders (cycling through ``--scenarios``) and
the benign confounders, and the answers go to a labels file *beside* the folder, never inside
it, so ``custodes detect`` on the folder cannot see them and ``custodes eval score`` can.
"""

from __future__ import annotations

from itertools import cycle, islice
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from custodes.errors import InputError
from custodes.sim.config import SimConfig
from custodes.sim.errors import SimError
from custodes.sim.writer import SimSummary


def default_labels_path(out_dir: Path) -> Path:
    """``OUT.labels.json`` next to ``OUT``."""
    return out_dir.parent / f"{out_dir.name}.labels.json"


def chosen_scenarios(insiders: int, scenarios: str | None) -> tuple[str, ...]:
    """``insiders`` scenario names, cycling through the chosen ones (default: all eight)."""
    from custodes.sim.scenarios import INSIDERS

    names = [s.strip() for s in (scenarios or "").split(",") if s.strip()] or list(INSIDERS)
    unknown = [n for n in names if n not in INSIDERS]
    if unknown:
        raise InputError(
            f"unknown scenario(s) {', '.join(unknown)}; expected some of {', '.join(INSIDERS)}"
        )
    return tuple(islice(cycle(names), insiders))


def _check_target(out_dir: Path, force: bool) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"{out_dir}: exists and is not a folder")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not force:
        raise InputError(f"{out_dir}: already exists and is not empty; pass --force to overwrite")


def sim_command(
    out_dir: Path,
    config: SimConfig,
    *,
    insiders: int = 0,
    scenarios: str | None = None,
    labels: Path | None = None,
    force: bool = False,
) -> None:
    from custodes.sim import generate
    from custodes.sim.scenarios import generate_labelled

    _check_target(out_dir, force)
    names = chosen_scenarios(insiders, scenarios) if insiders else ()
    if scenarios and not insiders:
        raise InputError("--scenarios needs --insiders N")
    labels_path = (labels or default_labels_path(out_dir)) if insiders else None
    if labels_path is not None and labels_path.exists() and not force:
        raise InputError(f"{labels_path}: already exists; pass --force to overwrite")
    try:
        if labels_path is None:
            summary = generate(out_dir, config)
        else:
            summary = generate_labelled(out_dir, labels_path, config, insiders=names)
    except SimError as exc:  # a scenario found nobody free to play it, or labels inside
        raise InputError(f"{out_dir}: {exc}") from None
    except OSError as exc:
        raise InputError(f"{out_dir}: cannot write the dataset ({exc.strerror})") from None
    print_summary(summary, labels_path, names)


def print_summary(summary: SimSummary, labels_path: Path | None, names: tuple[str, ...]) -> None:
    table = Table(title=f"wrote {summary.out_dir}", title_justify="left")
    table.add_column("file")
    table.add_column("rows", justify="right")
    for name, rows in summary.rows.items():
        table.add_row(name, f"{rows:,}")
    Console(width=100).print(table)
    if labels_path is not None:
        typer.echo(
            f"{len(names)} insider(s) planted ({', '.join(sorted(set(names)))}); labels in "
            f"{labels_path} (beside the folder: detect never sees them). Score alerts with "
            f"`custodes eval score {labels_path} ALERTS`."
        )
