"""`custodes demo` and `custodes sim`: a synthetic marketplace, imported into a fresh home for
the demo, or written as a dataset folder (with planted insiders and their labels) by `sim`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console


def demo(
    home: Annotated[Path, typer.Option(help="Folder for the demo's keys and database.")] = Path(
        ".custodes-demo"
    ),
    seed: Annotated[int, typer.Option(help="Simulator seed.")] = 7,
    customers: Annotated[int, typer.Option(min=1)] = 2000,
    employees: Annotated[int, typer.Option(min=10)] = 60,
    days: Annotated[int, typer.Option(min=1)] = 14,
    serve: Annotated[bool, typer.Option(help="Serve the console afterwards.")] = False,
) -> None:
    """The main job: keys, database, a synthetic marketplace imported into the vault, a summary."""
    from custodes.cli.demo import DemoOptions, run_demo

    run_demo(DemoOptions(home, seed, customers, employees, days), Console())
    if serve:
        Console(stderr=True).print(
            "the console is not built yet; nothing to serve (use --no-serve)"
        )


def sim(
    out_dir: Annotated[Path, typer.Argument(help="Folder to write the dataset into.")],
    seed: Annotated[int, typer.Option()] = 7,
    customers: Annotated[int, typer.Option(min=1)] = 1000,
    employees: Annotated[int, typer.Option(min=10)] = 50,
    days: Annotated[int, typer.Option(min=1)] = 30,
    insiders: Annotated[
        int, typer.Option(min=0, help="Plant this many insiders (labels go beside OUT_DIR).")
    ] = 0,
    scenarios: Annotated[
        str | None, typer.Option(help="Comma-separated insider scenarios to cycle through.")
    ] = None,
    labels: Annotated[
        Path | None, typer.Option(help="Where the labels go (default: OUT_DIR.labels.json).")
    ] = None,
    force: Annotated[bool, typer.Option(help="Overwrite an existing dataset folder.")] = False,
) -> None:
    """Write a deterministic synthetic marketplace in the dataset-folder format."""
    from custodes.cli.sim_commands import sim_command
    from custodes.sim import SimConfig

    config = SimConfig(seed=seed, customers=customers, employees=employees, days=days)
    sim_command(out_dir, config, insiders=insiders, scenarios=scenarios, labels=labels, force=force)
