"""`custodes policy …`: the Cedar policy in force, and its dual-controlled changes (a privacy
officer proposes, a second one approves, the proposer executes)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from custodes.runtime import Runtime
from custodes.vocabulary import Verdict

policy_app = typer.Typer(help="The access policy (Cedar).", no_args_is_help=True)


@policy_app.command("apply")
def policy_apply(
    file: Path,
    applied_by: Annotated[str, typer.Option(help="Privacy officer proposing the change.")],
    id_token_file: Annotated[
        Path | None, typer.Option(help="A file holding the proposer's OIDC ID token (their proof).")
    ] = None,
) -> None:
    """Propose a Cedar policy (validated against the schema), as the privacy officer whose own
    proof `--id-token-file` holds (without it, a recorded deny; with no identity provider, they
    propose signed in with their passkey: `POST /v1/policy/proposals`). It is dual-controlled:
    a second, independent privacy officer approves its digest, then the proposer runs
    `custodes policy execute ID --id-token-file FILE`. Works while `serve` runs."""
    from custodes.cli.employee_proof import propose_policy
    from custodes.errors import InputError

    if not file.is_file():
        raise InputError(f"{file}: no such policy file")
    outcome, digest = propose_policy(file.read_text(), applied_by, id_token_file)
    decision = outcome.decision
    if decision.outcome != Verdict.PENDING or decision.request_id is None:
        raise InputError(
            f"policy change {decision.outcome}: {decision.reason} "
            f"(ledger entry {decision.ledger_index})"
        )
    typer.echo(
        f"policy change requested: {decision.request_id} (digest {digest}); a second privacy "
        f"officer approves it, then `custodes policy execute {decision.request_id} --by "
        f"{applied_by} --id-token-file FILE`"
    )


@policy_app.command("execute")
def policy_execute(
    request_id: str,
    by: Annotated[str, typer.Option(help="The privacy officer who proposed it.")],
    id_token_file: Annotated[
        Path | None, typer.Option(help="A file holding the proposer's OIDC ID token (their proof).")
    ] = None,
) -> None:
    """Carry out an approved policy change: it becomes the policy in force (servers follow).
    Needs the proposer's own proof (`--id-token-file`); without it, a recorded deny. With no
    identity provider: `POST /v1/policy/proposals/ID/execute`, signed in with a passkey."""
    from custodes.cli.employee_proof import execute_policy
    from custodes.errors import InputError

    outcome = execute_policy(request_id, by, id_token_file)
    decision = outcome.decision
    if not decision.allowed:
        raise InputError(f"policy change {decision.outcome}: {decision.reason}")
    result = outcome.data or {}
    typer.echo(
        f"policy v{result.get('policy_version')} sha256 {result.get('sha256')} "
        f"(ledger entry {decision.ledger_index})"
    )


@policy_app.command("show")
def policy_show() -> None:
    """Print the policy in force."""
    from custodes.access.policy_store import current_policy

    typer.echo(current_policy(Runtime.from_env().migrated_engine()).text, nl=False)
