"""The `custodes` command: a table of commands, each loaded from its own module when it runs.

Commands are thin wrappers over library functions (tests call those directly); they live in
`cli/<package>_commands.py`. Nothing heavy is imported here: `custodes --help` lists the table
(see `lazy`), and `run` turns every failure into one line on stderr.
"""

from __future__ import annotations

import sys
from typing import Annotated, Any, ClassVar

import typer

from custodes.cli.lazy import Lazy, LazyGroup

_CLI = "custodes.cli."
COMMANDS = {
    "init": Lazy(
        _CLI + "setup_commands:init",
        "Create the keys (keyring, ledger signing key, approval key; all 0600) and migrate.",
    ),
    "import": Lazy(
        _CLI + "setup_commands:import_",
        "Load a dataset folder; PII is encrypted on the way in. All of it or nothing. "
        "The import is recorded in the ledger first (the files' digest), and its failure too.",
    ),
    "demo": Lazy(
        _CLI + "world_commands:demo",
        "The main job: keys, database, a synthetic marketplace imported into the vault, a summary.",
    ),
    "sim": Lazy(
        _CLI + "world_commands:sim",
        "Write a deterministic synthetic marketplace in the dataset-folder format.",
    ),
    "serve": Lazy(
        _CLI + "serve_commands:serve", "Run the HTTP API (uvicorn) on the configured database."
    ),
    "sequencer": Lazy(
        _CLI + "serve_commands:sequencer",
        "Hold the log and serve appends to local API workers over a Unix socket.",
    ),
    "keys": Lazy(
        _CLI + "vault_commands:keys_app", "Key-encryption keys: status, rotation, retirement."
    ),
    "customers": Lazy(_CLI + "vault_commands:customers_app", "Customer records in the vault."),
    "policy": Lazy(_CLI + "policy_commands:policy_app", "The access policy (Cedar)."),
    "tokens": Lazy(_CLI + "tokens_commands:tokens_app", "API tokens for calling services."),
    "employees": Lazy(
        _CLI + "identity_commands:employees_app",
        "Employees' sign-in: enrollment links, passkeys.",
    ),
    "ledger": Lazy(
        _CLI + "ledger_commands:ledger_app", "The access ledger: an RFC 6962 Merkle log."
    ),
    "witness": Lazy(
        "custodes.ledger.witness.cli:witness_app",
        "A tlog witness: cosigns ledger checkpoints that extend what it saw before.",
    ),
    "detect": Lazy(
        _CLI + "detect_commands:detect_command",
        "Score every employee-day and write alerts with their evidence (no PII).",
    ),
    "eval": Lazy(
        _CLI + "detect_commands:eval_app", "Evaluate detectors on labelled synthetic data."
    ),
    "forensics": Lazy(
        _CLI + "forensics_commands:forensics_app",
        "Leak forensics: attribute a leaked list to exposures and employees.",
    ),
    "canary": Lazy(
        _CLI + "forensics_commands:canary_app",
        "Canary customers: the intake behind their addresses.",
    ),
    "relay": Lazy(_CLI + "relay_commands:relay_app", "The buyer-seller relay: aliases, DLP, SMTP."),
}


class CustodesGroup(LazyGroup):
    lazy: ClassVar[dict[str, Lazy]] = COMMANDS


app = typer.Typer(
    name="custodes",
    help="Who watches the watchmen? Protects customer data from insiders, provably.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    cls=CustodesGroup,
)


def _print_version(value: bool) -> None:
    if value:
        from custodes import __version__

        typer.echo(f"custodes {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Who watches the watchmen? Protects customer data from insiders, provably."""


def _usage_error(exc: Exception) -> None:
    """A bad option or argument: one line on stderr (click's message), no traceback.

    A group run without a command has already printed its help: that is an answer, not an
    error, so nothing more is printed and the exit is 0.
    """
    message = " ".join(str(getattr(exc, "format_message", lambda: str(exc))()).split())
    if type(exc).__name__ == "NoArgsIsHelpError" or not message:
        sys.exit(0)
    print(f"custodes: error: {message}", file=sys.stderr)
    sys.exit(int(getattr(exc, "exit_code", 2)))


def _kinds() -> tuple[tuple[type[BaseException], ...], ...]:
    """(aborts, exits, usage errors): Typer's own, and click's when this Typer still uses it
    (older releases raise click's exceptions; newer ones vendor click)."""
    aborts: list[type[BaseException]] = [typer.Abort, KeyboardInterrupt]
    exits: list[type[BaseException]] = [typer.Exit]
    usage: list[type[BaseException]] = [typer.TyperException]
    click: Any = sys.modules.get("click")
    if click is not None:
        aborts.append(click.exceptions.Abort)
        exits.append(click.exceptions.Exit)
        usage.append(click.ClickException)
    return tuple(aborts), tuple(exits), tuple(usage)


def run() -> None:
    """Entry point: every failure becomes one line on stderr and a non-zero exit."""
    from custodes.cli.errors import debugging, explain

    aborts, exits, usage = _kinds()
    try:
        # With standalone_mode off, click returns an Exit's code instead of raising it.
        code = app(standalone_mode=False)
    except aborts:
        print("custodes: aborted", file=sys.stderr)
        sys.exit(130)
    except exits as exc:
        sys.exit(getattr(exc, "exit_code", 1))
    except usage as exc:
        _usage_error(exc)  # type: ignore[arg-type]
    except Exception as exc:
        if debugging():
            raise
        print(f"custodes: error: {explain(exc)}", file=sys.stderr)
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    run()
