"""``custodes import``: the command's body (``cli.main`` registers it), kept beside the loader.

Thin: validation and loading are ``loader.import_dataset``; here are the progress bar (only on
a terminal), the quarantine file, and what happens to the plaintext folder afterwards.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TextIO

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from custodes.dataset.schema import DATASET_FILES
from custodes.errors import InputError


def progress_bar(console: Console) -> Progress:
    """A rich progress bar on stderr, drawn only when stderr is a terminal (never in logs)."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    )


def _open_quarantine(path: Path, folder: Path) -> TextIO:
    """Open the quarantine file before importing, so a bad path fails before anything is
    written; never inside the dataset folder (``--delete-source`` would take it too)."""
    try:
        path.resolve().relative_to(folder.resolve())
    except ValueError:
        pass
    else:
        raise InputError(f"{path}: keep the quarantine file outside the dataset folder")
    try:
        return path.open("w", encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{path}: cannot write the quarantine file ({exc.strerror})") from None


def delete_source(folder: Path) -> list[str]:
    """Remove the dataset files from ``folder`` (and the folder once empty); what is left."""
    for name in DATASET_FILES:
        path = folder / name
        if path.is_file():
            path.unlink()
    left = sorted(p.name for p in folder.iterdir())
    if not left:
        folder.rmdir()
    return left


def import_command(folder: Path, quarantine: Path | None, delete: bool) -> None:
    """Load a dataset folder into the database (see ``custodes import --help``)."""
    from custodes.dataset.loader import import_dataset, total_rows
    from custodes.runtime import Runtime

    if not folder.is_dir():
        raise InputError(f"{folder}: not a dataset folder")
    rt = Runtime.from_env()
    engine = rt.migrated_engine()
    handle = _open_quarantine(quarantine, folder) if quarantine is not None else None
    console = Console(stderr=True)
    try:
        with progress_bar(console) as bar:
            task = bar.add_task("reading and checking", total=total_rows(folder))

            def tick(name: str, count: int) -> None:
                bar.update(task, advance=count, description=f"importing {name}")

            report = import_dataset(
                engine, folder, rt.keyring, tick, quarantine=quarantine is not None
            )
    except BaseException:
        if handle is not None and quarantine is not None:
            handle.close()
            quarantine.unlink(missing_ok=True)  # nothing was imported, so nothing was rejected
        raise
    typer.echo(" ".join(f"{k}={v}" for k, v in report.counts.items()))
    if handle is not None:
        with handle:
            for rejection in report.rejected:
                handle.write(json.dumps(rejection.to_json()) + "\n")
        typer.echo(f"rejected {len(report.rejected)} row(s); file, line and reason in {quarantine}")
    if delete:
        left = delete_source(folder)
        if left:
            typer.echo(f"deleted the dataset files from {folder}; left there: {', '.join(left)}")
        else:
            typer.echo(f"deleted the plaintext folder {folder}")
    else:
        typer.echo(
            f"note: the plaintext folder {folder} (names, e-mails, phones) is still on disk; "
            "delete it once you no longer need it, or import with --delete-source"
        )
