"""`custodes init` and `custodes import`: set up a home (keys, database) and load a dataset
folder into the vault, the import recorded in the ledger first."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from custodes.runtime import Runtime


def init() -> None:
    """Create the keys (keyring, ledger signing key, approval key; all 0600) and migrate.

    CUSTODES_HOME is made 0700 and an SQLite database 0600. On a database that already holds
    sealed data or ledger entries, a missing key is an error to fix, never a key to remake.
    """
    from custodes.access.signing import load_or_create_approval_key
    from custodes.cli.home import prepare_home, refuse_orphaning_keys
    from custodes.ledger.keys import SIGNER_FILE, write_log_keys
    from custodes.store.migrate import upgrade
    from custodes.vault.keyring import FileKeyring

    rt = Runtime.from_env()
    for warning in prepare_home(rt.settings):
        Console(stderr=True).print(f"custodes: warning: {warning}", markup=False, highlight=False)
    refuse_orphaning_keys(rt.engine, rt.settings.keys_dir)
    keyring = FileKeyring.open_or_create(rt.settings.keys_dir)
    if not (rt.settings.keys_dir / SIGNER_FILE).exists():
        write_log_keys(rt.settings.keys_dir, rt.settings.ledger_origin)
    load_or_create_approval_key(rt.settings.keys_dir)
    upgrade(rt.engine)
    typer.echo(
        f"keyring: {rt.settings.keys_dir} (KEK v{keyring.active_version}); "
        f"ledger key for {rt.settings.ledger_origin}; database ready"
    )


def import_(
    folder: Annotated[Path, typer.Argument(help="A dataset folder (DESIGN.md format).")],
    quarantine: Annotated[
        Path | None,
        typer.Option(
            help="Import the valid rows; write each rejected row's file, line and reason "
            "(never its values) to this JSON Lines file. Without it: all or nothing."
        ),
    ] = None,
    delete_source: Annotated[
        bool, typer.Option(help="Delete the plaintext dataset files after a successful import.")
    ] = False,
) -> None:
    """Load a dataset folder; PII is encrypted on the way in. All of it or nothing.
    The import is recorded in the ledger first (the files' digest), and its failure too."""
    from custodes.cli.dataset_commands import import_command
    from custodes.cli.recording import recorded

    rt = Runtime.from_env()
    rt.migrated_engine()
    with recorded(rt, "dataset.import", extra=_folder_summary(folder)):
        import_command(folder, quarantine, delete_source)


def _folder_summary(folder: Path) -> dict[str, str | int | bool | None]:
    """What the ledger says of an import: SHA-256 over the files' names and bytes (which export
    it was) and each file's line count (how many employees, cases… it may change); no PII."""
    import hashlib

    from custodes.dataset.schema import DATASET_FILES
    from custodes.errors import InputError

    if not folder.is_dir():
        raise InputError(f"{folder}: not a dataset folder")
    digest = hashlib.sha256()
    summary: dict[str, str | int | bool | None] = {}
    for name in DATASET_FILES:
        path = folder / name
        if path.is_file():
            digest.update(name.encode() + b"\0")
            lines = 0
            with path.open("rb") as handle:
                for chunk in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(chunk)
                    lines += chunk.count(b"\n")
            # "1234_lines", not an integer: the ledger's guard reads 8+ digit numbers as phones.
            summary[f"lines.{path.stem}"] = f"{lines}_lines"
    summary["files"] = digest.hexdigest()
    return summary
