"""`custodes employees ...`: enrollment links and passkey listings (thin wrappers)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from sqlalchemy import Engine

from custodes.identity.events import Recorder

employees_app = typer.Typer(
    help="Employees' sign-in: enrollment links, passkeys.", no_args_is_help=True
)


def _engine() -> Engine:
    from custodes.config import Settings
    from custodes.errors import ConfigError
    from custodes.store.engine import make_engine
    from custodes.store.migrate import is_initialised, upgrade

    engine = make_engine(Settings.from_env().database_url)
    if not is_initialised(engine):
        raise ConfigError("the database is not initialised; run `custodes init` first")
    upgrade(engine)
    return engine


@contextmanager
def _ledger(engine: Engine) -> Iterator[Recorder]:
    """Appends through a running server's sequencer socket if one answers, else through this
    process's own sequencer (as `custodes policy apply` does). These commands are the CLI
    layer's, registered by `custodes.cli.main`, so they use its recording helper.

    An event recorded here is the operator's act about an employee (the employee has no
    credential yet to prove anything with), so it also names the operating-system account
    that ran the command (`ran_by`): a link issued to enroll someone else's passkey is then
    attributable to whoever issued it."""
    from dataclasses import replace

    from custodes.cli.recording import append, operator
    from custodes.identity.events import IdentityEvent
    from custodes.identity.recording import ledger_recorder
    from custodes.runtime import Runtime

    rt = Runtime.from_env()
    record = ledger_recorder(lambda data: append(rt, data).index)
    ran_by = operator()

    def by_operator(event: IdentityEvent) -> int:
        return record(replace(event, details={**event.details, "ran_by": ran_by}))

    yield by_operator


@employees_app.command("enroll")
def enroll(
    employee_id: Annotated[str, typer.Argument(help="The employee id, e.g. E0003.")],
) -> None:
    """Print a one-time, expiring enrollment link (the secret is in its #fragment)."""
    from custodes.identity.service import IdentityService
    from custodes.identity.settings import WebAuthnSettings

    engine = _engine()
    with _ledger(engine) as record:
        link = IdentityService(engine, WebAuthnSettings.from_env(), record).enroll(employee_id)
    typer.echo(link.url)
    typer.echo(
        f"one-time link for {employee_id}, valid until "
        f"{link.expires_at.isoformat(timespec='minutes')}; hand it over privately",
        err=True,
    )


@employees_app.command("passkeys")
def passkeys(employee_id: str) -> None:
    """List an employee's active passkeys (ids and the ledger entries that registered them)."""
    from custodes.identity.recording import refusing_recorder
    from custodes.identity.service import IdentityService
    from custodes.identity.settings import WebAuthnSettings

    service = IdentityService(_engine(), WebAuthnSettings.from_env(), refusing_recorder)
    for info in service.credentials(employee_id):
        typer.echo(
            f"{info.credential_id} registered {info.created_at.isoformat(timespec='seconds')} "
            f"ledger #{info.ledger_index}"
        )
