"""`custodes ledger …`: keys, proofs, export and offline verification (thin wrappers)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from custodes.cli.runtime import Runtime

ledger_app = typer.Typer(help="The access ledger: an RFC 6962 Merkle log.", no_args_is_help=True)


@ledger_app.command("keygen")
def keygen(
    origin: Annotated[str | None, typer.Option(help="Log origin (key name).")] = None,
) -> None:
    """Create the checkpoint-signing key (note format) under CUSTODES_HOME/keys."""
    from custodes.ledger.keys import write_log_keys

    rt = Runtime.from_env()
    secret, public = write_log_keys(rt.settings.keys_dir, origin or rt.settings.ledger_origin)
    typer.echo(f"private key: {secret} (0600)\nverifier key: {public.read_text().strip()}")


@ledger_app.command("status")
def status() -> None:
    """Size, root and latest checkpoint of the log."""
    import base64

    from custodes.ledger.storage import LedgerReader

    reader = LedgerReader(Runtime.from_env().migrated_engine())
    head = reader.head()
    latest = reader.latest_checkpoint()
    typer.echo(f"size {head.size} root {base64.b64encode(head.root).decode()}")
    typer.echo(f"latest checkpoint: size {latest[0]}" if latest else "no checkpoint yet")


@ledger_app.command("checkpoint")
def checkpoint() -> None:
    """Sign a checkpoint for the current head and print it."""
    from custodes.ledger.keys import load_log_signer
    from custodes.ledger.sequencer import Sequencer

    rt = Runtime.from_env()
    with Sequencer(rt.migrated_engine(), load_log_signer(rt.settings.keys_dir)) as seq:
        typer.echo(seq.checkpoint(), nl=False)


@ledger_app.command("proof")
def proof(index: Annotated[int, typer.Argument(min=0)]) -> None:
    """Print a c2sp.org/tlog-proof@v1 document for one entry."""
    from custodes.ledger.errors import LedgerError
    from custodes.ledger.keys import load_log_signer
    from custodes.ledger.service import proof_document

    rt = Runtime.from_env()
    try:
        signer = load_log_signer(rt.settings.keys_dir)
    except LedgerError:
        signer = None
    typer.echo(proof_document(rt.migrated_engine(), index, signer), nl=False)


@ledger_app.command("cosign")
def cosign(
    witness: Annotated[str, typer.Option(help="Witness base URL (loopback).")],
    witness_key: Annotated[str, typer.Option(help="Witness verifier key (or a file).")],
) -> None:
    """Ask a C2SP tlog-witness to cosign the latest checkpoint; store the cosignature."""
    from custodes.ledger.cosign import request_cosignature
    from custodes.ledger.note import CosignerKey

    engine = Runtime.from_env().migrated_engine()
    size, line = request_cosignature(engine, witness, CosignerKey.from_vkey(_read_key(witness_key)))
    typer.echo(f"cosigned at size {size}: {line.strip()}")


@ledger_app.command("export")
def export(folder: Path) -> None:
    """Write tiles, entry bundles and the checkpoint for any static web server."""
    from custodes.ledger.export import export_log
    from custodes.ledger.storage import LedgerReader

    report = export_log(LedgerReader(Runtime.from_env().migrated_engine()), folder)
    typer.echo(
        f"exported size {report.size}: {report.tiles} hash tiles, "
        f"{report.entry_bundles} entry bundles"
    )


@ledger_app.command("verify")
def verify(
    source: Annotated[str, typer.Argument(help="Exported folder or loopback base URL.")],
    key: Annotated[str, typer.Option(help="Log verifier key (or a file holding it).")],
    witness_key: Annotated[
        list[str] | None, typer.Option(help="Witness cosigner verifier key; repeatable.")
    ] = None,
) -> None:
    """Recompute the root from every entry; name the first bad index on any tampering."""
    from custodes.ledger.keys import load_verifier
    from custodes.ledger.note import CosignerKey
    from custodes.ledger.verify import describe, fetcher_for, verify_log

    witnesses = [CosignerKey.from_vkey(_read_key(k)) for k in witness_key or []]
    report = verify_log(fetcher_for(source), load_verifier(key), witnesses)
    if not report.ok:
        print(f"custodes: {describe(report)}", file=sys.stderr)
        raise typer.Exit(1)
    typer.echo(describe(report))


@ledger_app.command("verify-proof")
def verify_proof(
    file: Path,
    key: Annotated[str, typer.Option(help="Log verifier key (or a file holding it).")],
    entry: Annotated[Path | None, typer.Option(help="Entry file, if not inside the proof.")] = None,
) -> None:
    """Check a tlog-proof document against the log's verifier key."""
    from custodes.errors import InputError
    from custodes.ledger.keys import load_verifier
    from custodes.ledger.service import verify_proof_document

    if not file.is_file():
        raise InputError(f"{file}: no such proof file")
    verifier = load_verifier(key)
    checkpoint, data = verify_proof_document(
        file.read_text(), verifier, verifier.name, entry.read_bytes() if entry else None
    )
    typer.echo(f"ok: entry included in {checkpoint.origin} at size {checkpoint.size}")
    typer.echo(data.decode())


def _read_key(text: str) -> str:
    from custodes.ledger.keys import key_text

    return key_text(text)
