"""`custodes relay …`: serve the SMTP relay, keep aliases and seller contacts (thin wrappers)."""

from __future__ import annotations

import signal
import threading
from contextlib import ExitStack
from typing import Annotated, Any

import typer

relay_app = typer.Typer(help="The buyer-seller relay: aliases, DLP, SMTP.", no_args_is_help=True)


def _smarthost(value: str) -> tuple[str, int]:
    from custodes.errors import InputError

    host, _, port = value.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise InputError(f"--smarthost must be HOST:PORT, not {value!r}")
    return host, int(port)


def _ledger(rt: Any, stack: ExitStack) -> Any:
    """Append through a running sequencer (`custodes serve --workers N`) if there is one;
    otherwise this process holds the log itself."""
    import socket

    from custodes.ledger.keys import load_log_signer
    from custodes.ledger.remote import RemoteLedger
    from custodes.ledger.sequencer import GroupCommitter, Sequencer
    from custodes.web.worker import sequencer_socket

    path = sequencer_socket(rt.settings.home)
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
            probe.connect(str(path))
        return RemoteLedger(path)
    except OSError:
        pass
    sequencer = stack.enter_context(
        Sequencer(rt.migrated_engine(), load_log_signer(rt.settings.keys_dir))
    )
    committer = GroupCommitter(sequencer)
    stack.callback(committer.close)
    return committer


@relay_app.command("serve")
def serve(
    domain: Annotated[str, typer.Option(help="The relay domain aliases live at.")] = (
        "relay.custodes.example"
    ),
    host: Annotated[str, typer.Option(help="Bind address (loopback by default).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 2525,
    smarthost: Annotated[
        str, typer.Option(help="HOST:PORT that outbound mail is handed to.")
    ] = "127.0.0.1:25",
    max_size: Annotated[int, typer.Option(min=1024, help="Largest message in bytes.")] = (
        10 * 1024 * 1024
    ),
    marketplace: Annotated[str, typer.Option(help="Shown in From: 'Acme via …'.")] = (
        "the marketplace"
    ),
) -> None:
    """Relay sellers' and customers' mail between aliases and real addresses."""
    from custodes.access.door import Door
    from custodes.relay.aliases import sync_aliases
    from custodes.relay.server import start
    from custodes.relay.service import Relay
    from custodes.relay.types import RelayConfig
    from custodes.runtime import Runtime

    target = _smarthost(smarthost)
    rt = Runtime.from_env()
    engine = rt.migrated_engine()
    services = rt.services()
    with ExitStack() as stack:
        door = Door(
            engine,
            services.keyring,
            _ledger(rt, stack),
            services.policy,  # type: ignore[arg-type]
            services.approval_key,
            services.notifier,
            services.config,
        )
        made = sync_aliases(engine)
        relay = Relay(
            engine,
            rt.keyring,
            door,
            RelayConfig(domain=domain, max_size=max_size, marketplace=marketplace),
        )
        running = start(relay, host=host, port=port, smarthost=target)
        stack.callback(running.stop)
        typer.echo(
            f"relay for @{domain} on {host}:{running.port} -> {smarthost} ({made} new aliases)"
        )
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        stop.wait()


@relay_app.command("aliases")
def aliases() -> None:
    """Create the alias of every (seller, customer) pair that has an order."""
    from custodes.relay.aliases import sync_aliases
    from custodes.runtime import Runtime

    typer.echo(f"{sync_aliases(Runtime.from_env().migrated_engine())} aliases created")


@relay_app.command("contact")
def contact(
    seller_id: Annotated[str, typer.Argument(help="The seller.")],
    address: Annotated[str, typer.Argument(help="Where the seller receives relayed mail.")],
) -> None:
    """Register the address a seller writes from and receives relayed mail at."""
    from sqlalchemy import delete

    from custodes.errors import InputError
    from custodes.marketplace.models import Seller
    from custodes.relay.models import SellerContact
    from custodes.runtime import Runtime
    from custodes.store.engine import transaction
    from custodes.vault.normalise import normalise_email

    normalised = normalise_email(address)
    with transaction(Runtime.from_env().migrated_engine()) as session:
        if session.get(Seller, seller_id) is None:
            raise InputError(f"no seller {seller_id}")
        session.execute(delete(SellerContact).where(SellerContact.seller_id == seller_id))
        session.add(SellerContact(seller_id=seller_id, address=normalised))
    typer.echo(f"{seller_id} registered for relayed mail")


@relay_app.command("credentials")
def credentials(
    seller_id: Annotated[str, typer.Argument(help="The seller.")],
    revoke: Annotated[bool, typer.Option(help="Remove the seller's secret instead.")] = False,
) -> None:
    """Issue (or rotate, or revoke) a seller's SMTP AUTH secret; the secret is shown once.
    Each is recorded in the ledger (the seller and a reference to the credential, never the
    secret) before it takes effect."""
    from custodes.cli.recording import append, operator
    from custodes.relay.credentials import Credentials
    from custodes.relay.errors import RelayInputError
    from custodes.runtime import Runtime

    rt = Runtime.from_env()
    issuer = Credentials(
        rt.migrated_engine(), lambda data: append(rt, data), rt.keyring.pseudonym_key, operator()
    )
    if revoke:
        if not issuer.revoke(seller_id):
            raise RelayInputError(f"{seller_id} has no relay credentials")
        typer.echo(f"{seller_id}: relay credentials revoked")
        return
    secret = issuer.issue(seller_id)
    typer.echo(f"SMTP AUTH for {seller_id} (shown once, stored hashed):")
    typer.echo(f"  login: {seller_id}")
    typer.echo(f"  secret: {secret}")


@relay_app.command("status")
def status() -> None:
    """Outbound queue counts per status and message verdicts."""
    from sqlalchemy import func, select
    from sqlalchemy.orm import Session

    from custodes.relay.models import RelayMessage
    from custodes.relay.queue import pending
    from custodes.runtime import Runtime

    engine = Runtime.from_env().migrated_engine()
    typer.echo(f"queue: {pending(engine)}")
    with Session(engine) as session:
        verdicts = dict(
            session.execute(
                select(RelayMessage.verdict, func.count()).group_by(RelayMessage.verdict)
            ).all()
        )
    typer.echo(f"messages: {verdicts}")
