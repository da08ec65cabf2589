"""`custodes keys …` and `custodes customers erase`: the vault's key-encryption keys and
crypto-shredding, each change recorded in the ledger before it is made."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from custodes.runtime import Runtime

keys_app = typer.Typer(
    help="Key-encryption keys: status, rotation, retirement.", no_args_is_help=True
)
customers_app = typer.Typer(help="Customer records in the vault.", no_args_is_help=True)


@keys_app.command("status")
def keys_status(
    sample: Annotated[
        int, typer.Option(min=1, max=10_000, help="Data keys to unwrap per KEK version.")
    ] = 8,
) -> None:
    """Show KEK versions, how many data keys each wraps, and prove the keyring opens a sample."""
    from sqlalchemy.orm import Session

    from custodes.vault.health import check_data_keys
    from custodes.vault.service import vault_stats

    rt = Runtime.from_env()
    engine = rt.migrated_engine()
    from custodes.forensics.canaries import canary_ids

    with Session(engine) as session:
        stats = vault_stats(session, canary_ids(engine))  # canaries are not customers
    keyring = rt.keyring
    typer.echo(
        f"active: v{keyring.active_version}; versions: {keyring.versions}; "
        f"retired: {keyring.retired_versions}"
    )
    typer.echo(" ".join(f"{k}={v}" for k, v in stats.items()))
    check = check_data_keys(engine, keyring, sample)
    if not check.ok:
        print(f"custodes: error: {check.describe()}", file=sys.stderr)
        raise typer.Exit(1)
    typer.echo(check.describe())


@keys_app.command("rotate")
def keys_rotate(
    batch_size: Annotated[int, typer.Option(min=1, help="Data keys re-wrapped per commit.")] = 1000,
) -> None:
    """Add a KEK version and re-wrap every data key under it, in batches, with no downtime."""
    from custodes.cli.recording import recorded
    from custodes.vault.service import rotate_keys

    rt = Runtime.from_env()
    engine = rt.migrated_engine()
    extra = {"from_version": rt.keyring.active_version}
    with recorded(rt, "keys.rotate", extra=extra), _progress() as bar:
        task = bar.add_task("re-wrapping data keys", total=None)
        report = rotate_keys(engine, rt.keyring, batch_size, lambda n: bar.advance(task, n))
    typer.echo(
        f"KEK v{report.new_version} active; re-wrapped {report.rewrapped} data keys "
        f"in {report.batches} batches"
    )


@keys_app.command("retire")
def keys_retire(version: int) -> None:
    """Destroy an old KEK version once no data key depends on it."""
    from custodes.cli.recording import recorded
    from custodes.vault.service import retire_key_version

    rt = Runtime.from_env()
    engine = rt.migrated_engine()
    with recorded(rt, "keys.retire", extra={"version": version}):
        retire_key_version(engine, rt.keyring, version)
    typer.echo(f"KEK v{version} retired")


@customers_app.command("erase")
def customers_erase(
    customer_id: str,
    operator: Annotated[
        str, typer.Option(help="Employee id of the privacy officer ordering the erasure.")
    ],
    id_token_file: Annotated[
        Path | None,
        typer.Option(help="A file holding the privacy officer's OIDC ID token (their proof)."),
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", help="Confirm: erasure cannot be undone.")] = False,
) -> None:
    """Crypto-shred one customer: their data key is destroyed, their PII unrecoverable.
    Irreversible, so it needs --yes (or a confirmation on a terminal). Ordered by the privacy
    officer whose own proof `--id-token-file` holds (without it, a recorded deny and nothing
    erased; with no identity provider, they erase signed in with their passkey:
    `POST /v1/customers/ID/erase`). Ledgered before the key is destroyed."""
    from custodes.cli.erasing import erase_as
    from custodes.errors import InputError

    if not yes:
        if not sys.stdin.isatty():
            raise InputError("erasure cannot be undone: pass --yes to confirm")
        typer.confirm(f"Erase customer {customer_id} for good?", abort=True)
    outcome = erase_as(customer_id, operator, id_token_file)
    typer.echo(f"customer {customer_id} erased (ledger entry {outcome.decision.ledger_index})")


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    )
