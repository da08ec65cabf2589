"""`custodes ledger …`: keys, proofs, export and offline verification (thin wrappers)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from custodes.ledger.errors import LedgerError
from custodes.runtime import Runtime

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
    """Size, root, latest checkpoint, the signer's own memory, and how witnessing goes."""
    import base64

    from custodes.ledger.keys import load_signer_state
    from custodes.ledger.storage import LedgerReader
    from custodes.ledger.witnessing import witness_status

    rt = Runtime.from_env()
    engine = rt.migrated_engine()
    reader = LedgerReader(engine)
    head = reader.head()
    latest = reader.latest_checkpoint()
    typer.echo(f"size {head.size} root {base64.b64encode(head.root).decode()}")
    typer.echo(f"latest checkpoint: size {latest[0]}" if latest else "no checkpoint yet")
    signed = load_signer_state(rt.settings.keys_dir, rt.settings.ledger_origin).head
    if signed is None:
        typer.echo("signer state: none yet (the first append or start records it)")
    elif (signed.size, signed.root) == (head.size, head.root):
        typer.echo(f"signer state: size {signed.size}, matches the database")
    else:
        typer.echo(
            f"signer state: size {signed.size} DOES NOT MATCH the database (size {head.size}): "
            "the ledger refuses to append until this is explained"
        )
    for row in witness_status(engine):
        lag = (latest[0] if latest else 0) - row.cosigned_size
        state = f"error: {row.last_error}" if row.last_error else "ok"
        typer.echo(
            f"witness {row.witness}: cosigned size {row.cosigned_size} (lag {lag}), "
            f"last attempt {row.last_attempt_at:%Y-%m-%dT%H:%M:%SZ}, {state}"
        )


@ledger_app.command("checkpoint")
def checkpoint() -> None:
    """Print the signed checkpoint for the current head (signing one only for an old log whose
    head no checkpoint covers; a running server signs every batch itself)."""
    from custodes.ledger.sequencer import SequencerBusy
    from custodes.ledger.storage import LedgerReader

    rt = Runtime.from_env()
    reader = LedgerReader(rt.migrated_engine())
    latest = reader.latest_checkpoint()
    if latest is not None and latest[0] == reader.head().size:
        typer.echo(latest[1], nl=False)
        return
    try:
        with rt.sequencer() as seq:
            seq.checkpoint()
    except SequencerBusy:
        raise LedgerError(
            "the running server holds the log and signs every batch it appends; "
            "its newest checkpoint is served at /ledger/checkpoint"
        ) from None
    latest = reader.latest_checkpoint()
    assert latest is not None
    typer.echo(latest[1], nl=False)


@ledger_app.command("proof")
def proof(index: Annotated[int, typer.Argument(min=0)]) -> None:
    """Print a c2sp.org/tlog-proof@v1 document for one entry (works beside a running server)."""
    from custodes.ledger.service import proof_document

    typer.echo(proof_document(Runtime.from_env().migrated_engine(), index), nl=False)


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
    witness: Annotated[
        list[str] | None,
        typer.Option(help="Witness base URL to compare with (its newest cosigned checkpoint)."),
    ] = None,
    state: Annotated[
        Path | None,
        typer.Option(help="Verified-checkpoint file (default under ~/.local/state/custodes)."),
    ] = None,
    since: Annotated[
        Path | None, typer.Option(help="A signed checkpoint file the log must extend.")
    ] = None,
) -> None:
    """Recompute the root from every entry; refuse a log older than, or forked from, what was
    verified before (the state file), a witness saw, or `--since` names. On success the state
    file remembers this checkpoint."""
    from custodes.errors import InputError
    from custodes.ledger.keys import load_verifier
    from custodes.ledger.note import CosignerKey
    from custodes.ledger.trust import Trusted, TrustStore, default_trust_file
    from custodes.ledger.verify import (
        checkpoint_file_head,
        describe,
        fetcher_for,
        verify_log,
        witnessed_head,
    )

    log_key = load_verifier(key)
    origin = log_key.name
    witnesses = [CosignerKey.from_vkey(_read_key(k)) for k in witness_key or []]
    store = TrustStore(state or default_trust_file())
    trusted: list[Trusted] = []
    remembered = store.get(origin, log_key.key_id)
    if remembered is not None:
        trusted.append(remembered)
    if since is not None:
        if not since.is_file():
            raise InputError(f"{since}: no such checkpoint file")
        trusted.append(checkpoint_file_head(since.read_text(), log_key, origin))
    urls = witness or []
    if urls and len(witnesses) != len(urls):
        raise InputError("give one --witness-key for each --witness URL, in the same order")
    for url, cosigner in zip(urls, witnesses, strict=False):
        seen = witnessed_head(url, cosigner, log_key, origin)
        if seen is not None:
            trusted.append(seen)
    report = verify_log(fetcher_for(source), log_key, witnesses, origin, trusted)
    if not report.ok:
        print(f"custodes: {describe(report)}", file=sys.stderr)
        raise typer.Exit(1)
    store.remember(origin, log_key.key_id, Trusted(report.size, report.root))
    typer.echo(describe(report))


@ledger_app.command("verify-approvals")
def verify_approvals(
    source: Annotated[str, typer.Argument(help="Exported folder or loopback base URL.")],
    key: Annotated[str, typer.Option(help="Log verifier key (or a file holding it).")],
    origin: Annotated[
        list[str] | None,
        typer.Option(help="Web origin the passkeys must have signed for; repeatable."),
    ] = None,
) -> None:
    """Verify the log (as `verify` does, without changing trust state), then check every
    approval entry's WebAuthn assertion against the approver's credential registered earlier
    in the same log (`credential.register`), its sign count, approval id and request digest."""
    import json

    from custodes.identity.approvals import audit_approvals
    from custodes.ledger.keys import load_verifier
    from custodes.ledger.tiles import TILE_WIDTH, decode_entry_bundle, entries_path
    from custodes.ledger.verify import describe, fetcher_for, verify_log

    log_key = load_verifier(key)
    fetch = fetcher_for(source)
    report = verify_log(fetch, log_key, [], log_key.name, [])
    if not report.ok:
        print(f"custodes: {describe(report)}", file=sys.stderr)
        raise typer.Exit(1)
    entries: list[tuple[int, dict[str, object]]] = []
    for n in range((report.size + TILE_WIDTH - 1) // TILE_WIDTH):
        width = min(TILE_WIDTH, report.size - n * TILE_WIDTH)
        data = fetch(entries_path(n, width))
        if data is None:
            raise LedgerError(f"entry bundle {n} vanished while reading it")
        for raw in decode_entry_bundle(data, width):
            entries.append((len(entries), json.loads(raw)))
    audit = audit_approvals(entries, list(origin) if origin else None)
    if not audit.ok:
        first = ", ".join(f"#{index} {why}" for index, why in audit.failures[:5])
        print(
            f"custodes: {len(audit.failures)} approval(s) do not check out: {first}",
            file=sys.stderr,
        )
        raise typer.Exit(1)
    typer.echo(
        f"{audit.approvals} approvals checked against {audit.credentials} registered passkeys "
        f"in {report.size} entries: ok"
    )


@ledger_app.command("audit-index")
def audit_index_command() -> None:
    """Check this database's access index against its signed log: every allowed reveal,
    search and break-glass entry has its index rows (the limits are counted from them), and no
    row points at a missing entry. Deleting rows to pass a limit twice is found here."""
    from custodes.ledger.index_audit import audit_index

    report = audit_index(Runtime.from_env().migrated_engine())
    if not report.ok:
        first = "; ".join(f"#{index}: {why}" for index, why in report.problems[:5])
        print(
            f"custodes: the access index disagrees with the log at {len(report.problems)} "
            f"place(s): {first}",
            file=sys.stderr,
        )
        raise typer.Exit(1)
    typer.echo(f"{report.checked} counted entries of {report.entries} match the index: ok")


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
