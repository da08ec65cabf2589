"""``custodes witness ...`` commands: thin wrappers over the witness library.

``keygen`` makes a cosigner key, ``serve`` runs the c2sp.org/tlog-witness HTTP API on
a loopback address, ``status`` prints what the witness has cosigned as JSON Lines.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Annotated

import typer

from custodes.ledger.witness.client import is_loopback_host
from custodes.ledger.witness.state import (
    WitnessState,
    WitnessStateError,
    generate_witness_key,
    write_witness_key,
)

witness_app = typer.Typer(
    help="A tlog witness: cosigns ledger checkpoints that extend what it saw before.",
    no_args_is_help=True,
)


@witness_app.command()
def keygen(
    name: Annotated[str, typer.Argument(help="Witness name, e.g. witness.example/w1.")],
    out: Annotated[Path, typer.Option("--out", help="Folder for witness.key and witness.pub.")],
) -> None:
    """Create a witness key: witness.key (0600, secret) and witness.pub (vkey for logs)."""
    key = generate_witness_key(name)
    key_path, pub_path = write_witness_key(key, out)
    typer.echo(f"secret key: {key_path} (mode 600)")
    typer.echo(f"public key: {pub_path}")
    typer.echo(key.vkey)


@witness_app.command()
def serve(
    key: Annotated[Path, typer.Option("--key", help="witness.key written by keygen.")],
    state: Annotated[Path, typer.Option("--state", help="JSON state file (created if absent).")],
    log_key: Annotated[
        list[str],
        typer.Option(
            "--log-key",
            help=(
                "Trusted log verifier key, inline or a file holding it (like `ledger verify "
                "--key`); repeatable; its key name is the checkpoint origin."
            ),
        ),
    ],
    host: Annotated[str, typer.Option(help="Loopback address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8765,
) -> None:
    """Serve POST /add-checkpoint (c2sp.org/tlog-witness) on a loopback address."""
    import uvicorn

    from custodes.ledger.witness.core import Witness
    from custodes.ledger.witness.http import create_witness_app

    if not is_loopback_host(host):
        raise typer.BadParameter(
            f"{host!r} is not a loopback address; use 127.0.0.1, ::1 or localhost",
            param_hint="--host",
        )
    if not log_key:
        raise typer.BadParameter("give at least one --log-key", param_hint="--log-key")
    from custodes.ledger.keys import key_text

    witness = Witness.from_files(key, state, [key_text(k) for k in log_key])
    typer.echo(
        f"witness {witness.name} ({witness.key.vkey}) on http://{host}:{port} "
        f"for {', '.join(witness.origins)}",
        err=True,
    )
    uvicorn.run(create_witness_app(witness), host=host, port=port, log_level="info")


@witness_app.command()
def status(
    state: Annotated[Path, typer.Option("--state", help="The witness's JSON state file.")],
) -> None:
    """Print each witnessed log as a JSON line: origin, size, root_hash, cosigned_at."""
    if not state.is_file():
        raise WitnessStateError(f"{state}: no witness state file (`witness serve` creates it)")
    records = WitnessState(state).records()
    if not records:
        typer.echo("no checkpoint cosigned yet", err=True)
    for origin, rec in sorted(records.items()):
        line = {
            "origin": origin,
            "size": rec.size,
            "root_hash": base64.b64encode(rec.root_hash).decode("ascii"),
            "cosigned_at": rec.cosigned_at,
        }
        typer.echo(json.dumps(line, ensure_ascii=False))
