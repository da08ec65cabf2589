"""`custodes tokens …`: API tokens for calling services, printed once and stored hashed; each
creation and revocation is recorded in the ledger."""

from __future__ import annotations

from typing import Annotated

import typer

from custodes.runtime import Runtime

tokens_app = typer.Typer(help="API tokens for calling services.", no_args_is_help=True)


def _scope_help() -> str:
    from custodes.access.tokens import SCOPES

    return f"A scope; repeat for several. One of: {', '.join(SCOPES)}."


@tokens_app.command("create")
def tokens_create(
    name: str,
    scope: Annotated[list[str], typer.Option(help=_scope_help())],
    expires_in: Annotated[
        str | None,
        typer.Option(help="Lifetime such as 30m, 12h, 90d or 2w (default: until revoked)."),
    ] = None,
    trust_employee_header: Annotated[
        bool,
        typer.Option(
            help="Legacy: the service may name the employee in X-Custodes-Employee for reads "
            "(each decision marked asserted by service); never for approvals, executions, "
            "requests, break-glass, opening or closing a case."
        ),
    ] = False,
) -> None:
    """Create an API token for a calling service; it is printed once and stored hashed."""
    from custodes.access.principal import ASSERT_SCOPE
    from custodes.access.tokens import (
        check_token_request,
        create_token,
        new_token_id,
        parse_duration,
    )
    from custodes.cli.recording import recorded, safe_id
    from custodes.store.engine import transaction

    if trust_employee_header:
        scope = [*scope, ASSERT_SCOPE]
    lifetime = parse_duration(expires_in) if expires_in is not None else None
    check_token_request(name, scope, lifetime)  # nothing typed wrong reaches the ledger
    rt = Runtime.from_env()
    engine = rt.migrated_engine()
    token_id = new_token_id()
    # The ledger names the new token by its id (random, and known once created); the name the
    # operator chose is a label that could be anything, so it stands there as a keyed digest.
    extra: dict[str, str | int | bool | None] = {
        "token": safe_id(rt, token_id),  # a digest in the rare case it looks like a number
        "name": safe_id(rt, name, known=False),
        **{f"scope.{s}": True for s in sorted(set(scope))},
    }
    with recorded(rt, "token.create", extra=extra), transaction(engine) as session:
        token_id, token = create_token(session, name, scope, lifetime, token_id)
    typer.echo(f"token id {token_id}\n{token}")


@tokens_app.command("list")
def tokens_list() -> None:
    """Every token: id, name, scopes, created, expires, state (never the secret)."""
    from datetime import UTC, datetime

    from sqlalchemy.orm import Session

    from custodes.access.tokens import list_tokens

    with Session(Runtime.from_env().migrated_engine()) as session:
        records = list_tokens(session)
    if not records:
        typer.echo("no tokens; create one with `custodes tokens create NAME --scope …`")
        return
    now = datetime.now(UTC)

    def when(moment: datetime | None) -> str:
        return "-" if moment is None else moment.strftime("%Y-%m-%dT%H:%MZ")

    typer.echo(f"{'id':<16}  {'state':<7}  {'created':<17}  {'expires':<17}  name  scopes")
    for r in records:
        typer.echo(
            f"{r.token_id:<16}  {r.state(now):<7}  {when(r.created_at):<17}  "
            f"{when(r.expires_at):<17}  {r.name}  {','.join(r.scopes)}"
        )


@tokens_app.command("revoke")
def tokens_revoke(token_id: str) -> None:
    """Revoke a token at once."""
    from sqlalchemy.orm import Session

    from custodes.access.models import ApiToken
    from custodes.access.tokens import revoke_token
    from custodes.cli.recording import recorded, safe_id
    from custodes.store.engine import transaction

    rt = Runtime.from_env()
    engine = rt.migrated_engine()
    with Session(engine) as session:
        known = session.get(ApiToken, token_id) is not None
    extra = {"token": safe_id(rt, token_id, known)}
    with recorded(rt, "token.revoke", extra=extra), transaction(engine) as session:
        revoke_token(session, token_id)
    typer.echo(f"token {token_id} revoked")
