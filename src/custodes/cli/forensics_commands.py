"""`custodes forensics …` and `custodes canary …`: thin wrappers over the forensics library."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

forensics_app = typer.Typer(
    help="Leak forensics: attribute a leaked list to exposures and employees.",
    no_args_is_help=True,
)


def _pseudonym_key() -> bytes:
    from custodes.errors import ConfigError
    from custodes.runtime import Runtime

    try:
        return Runtime.from_env().keyring.pseudonym_key
    except Exception as exc:  # the keyring is missing or unreadable
        raise ConfigError(
            "findings need the vault's pseudonym key; run `custodes init` first "
            f"({type(exc).__name__})"
        ) from None


@forensics_app.command("attribute")
def attribute_command(
    leaked: Annotated[
        list[Path], typer.Argument(help="Leak files, or folders of *.txt, one address per line.")
    ],
    out: Annotated[Path, typer.Option("--out", help="Folder for <leak>.json findings.")],
    data: Annotated[
        Path | None,
        typer.Option("--data", help="A dataset folder (DESIGN.md); default: the database."),
    ] = None,
    reveal: Annotated[
        list[str] | None,
        typer.Option(help="Employee ids an investigator opened a case on (shown unpseudonymised)."),
    ] = None,
    proofs: Annotated[
        bool, typer.Option("--proofs", help="Write an inclusion proof for each cited entry.")
    ] = False,
) -> None:
    """Rank the employees whose e-mail reads (or canaries) explain each leaked list."""
    from custodes.detect.alerts import shower
    from custodes.forensics.attribute import attribute, findings, write_findings
    from custodes.forensics.leaks import read_leaks

    leaks = read_leaks(leaked)
    show = shower(_pseudonym_key(), reveal or ())
    proof = _no_proof
    if data is not None:
        from custodes.forensics.folder import folder_source

        source = folder_source(data)
        if proofs:
            typer.echo("note: --proofs applies to ledger evidence; a folder has none", err=True)
    else:
        from custodes.forensics.store import DatabaseSource, refresh_index
        from custodes.runtime import Runtime

        rt = Runtime.from_env()
        engine = rt.migrated_engine()
        refresh_index(engine)
        source = DatabaseSource(engine, rt.keyring)  # type: ignore[assignment]
        if proofs:
            proof = _proof_writer(rt, out)
    for leak in leaks:
        result = attribute(leak, source)
        document = findings(result, source, show, proof)
        path = write_findings(out, leak.name, document)
        top = document["suspects"][0] if document["suspects"] else None
        typer.echo(
            f"{leak.name}: {document['matched']} matched, {document['unknown']} unknown, "
            f"{document['canaries']} canaries -> {path}"
            + (f"; top suspect {top['employee_id']} ({top['score']:.3f})" if top else "")
        )


def _no_proof(_: int) -> str | None:
    return None


def _proof_writer(rt: object, out: Path):  # type: ignore[no-untyped-def]
    from custodes.ledger.service import proof_document

    engine = rt.migrated_engine()  # type: ignore[attr-defined]
    folder = out / "proofs"

    def write(index: int) -> str | None:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{index}.proof"
        if not path.exists():
            path.write_text(proof_document(engine, index), encoding="utf-8")
        return f"proofs/{index}.proof"

    return write


@forensics_app.command("refresh")
def refresh_command() -> None:
    """Bring the e-mail read index up to date with the ledger and imported events."""
    from custodes.forensics.store import refresh_index
    from custodes.runtime import Runtime

    merged = refresh_index(Runtime.from_env().migrated_engine())
    typer.echo(f"{merged} e-mail reads merged into the read index")


@forensics_app.command("eval")
def eval_command(
    seeds: Annotated[str, typer.Option(help="Comma-separated seeds.")] = "11,12,13,14,15",
    customers: Annotated[int, typer.Option(min=1000)] = 20_000,
    employees: Annotated[int, typer.Option(min=40)] = 200,
    trials: Annotated[int, typer.Option(min=1, help="Leaks per kind and seed.")] = 40,
) -> None:
    """Attribution accuracy on simulated leaks (single, noisy, merged, team, canary)."""
    from custodes.evaluation.attribution import evaluate

    chosen = tuple(int(s) for s in seeds.split(",") if s.strip())
    typer.echo(json.dumps(evaluate(chosen, customers, employees, trials), indent=1))


canary_app = typer.Typer(
    help="Canary customers: the intake behind their addresses.", no_args_is_help=True
)


@canary_app.command("serve")
def canary_serve(
    host: Annotated[str, typer.Option(help="Bind address (loopback by default).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 2526,
    alerts: Annotated[Path, typer.Option(help="Alerts, one JSON object per line.")] = Path(
        "canary-alerts.jsonl"
    ),
    reveal: Annotated[
        list[str] | None,
        typer.Option(help="Employee ids an investigator opened a case on (shown unpseudonymised)."),
    ] = None,
) -> None:
    """Receive mail for canary addresses: every message is a hit and an alert."""
    import signal
    import threading

    from custodes.detect.alerts import shower
    from custodes.forensics.intake import Intake, jsonl_alerts, start
    from custodes.runtime import Runtime

    rt = Runtime.from_env()
    intake = Intake(
        rt.migrated_engine(),
        rt.keyring,
        jsonl_alerts(alerts),
        shower(_pseudonym_key(), reveal or ()),
    )
    controller = start(intake, host, port)
    typer.echo(f"canary intake on {host}:{port}; alerts -> {alerts}")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    controller.stop()


@canary_app.command("stock")
def canary_stock(
    count: Annotated[int, typer.Option(min=1, max=100_000, help="How many to make.")] = 200,
) -> None:
    """Make canaries ahead, so search pages take theirs without minting on the request path."""
    from custodes.forensics.canaries import stock
    from custodes.runtime import Runtime

    rt = Runtime.from_env()
    typer.echo(f"{stock(rt.migrated_engine(), rt.keyring, count)} canaries stocked")


@forensics_app.command("match-export")
def match_export(file: Annotated[Path, typer.Argument(help="A CSV found outside.")]) -> None:
    """Which fingerprinted export these exact bytes are (if any)."""
    from custodes.errors import InputError
    from custodes.forensics.exports import match_file
    from custodes.runtime import Runtime

    if not file.is_file():
        raise InputError(f"{file}: no such file")
    found = match_file(Runtime.from_env().migrated_engine(), file)
    if found is None:
        typer.echo("no export has exactly these bytes; attribute its addresses instead")
        raise typer.Exit(1)
    typer.echo(json.dumps(found, indent=1))


@forensics_app.command("signals")
def signals_command(
    alerts: Annotated[Path, typer.Option(help="Alerts, one JSON object per line.")] = Path(
        "canary-alerts.jsonl"
    ),
) -> None:
    """Turn imported canary_hit signals that name a canary into hits and alerts (once each)."""
    from custodes.detect.alerts import shower
    from custodes.forensics.intake import jsonl_alerts
    from custodes.forensics.signals import ingest_canary_signals
    from custodes.runtime import Runtime

    n = ingest_canary_signals(
        Runtime.from_env().migrated_engine(), jsonl_alerts(alerts), shower(_pseudonym_key())
    )
    typer.echo(f"{n} canary hits from signals -> {alerts}")
