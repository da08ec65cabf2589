"""The `custodes` command: thin wrappers over library functions (tests call those directly)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import click
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from custodes.cli.detect_commands import detect_command, eval_app
from custodes.cli.forensics_commands import canary_app, forensics_app
from custodes.cli.identity_commands import employees_app
from custodes.cli.ledger_commands import ledger_app
from custodes.cli.relay_commands import relay_app
from custodes.ledger.witness.cli import witness_app
from custodes.runtime import Runtime

app = typer.Typer(
    name="custodes",
    help="Who watches the watchmen? Protects customer data from insiders, provably.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
keys_app = typer.Typer(
    help="Key-encryption keys: status, rotation, retirement.", no_args_is_help=True
)
customers_app = typer.Typer(help="Customer records in the vault.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
app.add_typer(customers_app, name="customers")
app.add_typer(ledger_app, name="ledger")
app.command("detect")(detect_command)
app.add_typer(eval_app, name="eval")
tokens_app = typer.Typer(help="API tokens for calling services.", no_args_is_help=True)
policy_app = typer.Typer(help="The access policy (Cedar).", no_args_is_help=True)
app.add_typer(policy_app, name="policy")
app.add_typer(tokens_app, name="tokens")
app.add_typer(witness_app, name="witness", help="A C2SP tlog-witness for custodes logs.")
app.add_typer(employees_app, name="employees")
app.add_typer(forensics_app, name="forensics")
app.add_typer(relay_app, name="relay")
app.add_typer(canary_app, name="canary")

console = Console(stderr=True)


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


@app.command()
def init() -> None:
    """Create the keys (keyring, ledger signing key, approval key; all 0600) and migrate.

    CUSTODES_HOME is made 0700 and an SQLite database 0600. On a database that already holds
    sealed data or ledger entries, a missing key is an error to fix, never a key to remake.
    """
    from custodes.access.signing import load_or_create_approval_key
    from custodes.cli.home import prepare_home, refuse_orphaning_keys
    from custodes.ledger.keys import SIGNER_FILE, write_log_keys
    from custodes.store.migrate import upgrade
    from custodes.vault.keyring import FileKeyring

    rt = Runtime.from_env()
    for warning in prepare_home(rt.settings):
        console.print(f"custodes: warning: {warning}", markup=False, highlight=False)
    refuse_orphaning_keys(rt.engine, rt.settings.keys_dir)
    keyring = FileKeyring.open_or_create(rt.settings.keys_dir)
    if not (rt.settings.keys_dir / SIGNER_FILE).exists():
        write_log_keys(rt.settings.keys_dir, rt.settings.ledger_origin)
    load_or_create_approval_key(rt.settings.keys_dir)
    upgrade(rt.engine)
    typer.echo(
        f"keyring: {rt.settings.keys_dir} (KEK v{keyring.active_version}); "
        f"ledger key for {rt.settings.ledger_origin}; database ready"
    )


@app.command("import")
def import_(
    folder: Annotated[Path, typer.Argument(help="A dataset folder (DESIGN.md format).")],
    quarantine: Annotated[
        Path | None,
        typer.Option(
            help="Import the valid rows; write each rejected row's file, line and reason "
            "(never its values) to this JSON Lines file. Without it: all or nothing."
        ),
    ] = None,
    delete_source: Annotated[
        bool, typer.Option(help="Delete the plaintext dataset files after a successful import.")
    ] = False,
) -> None:
    """Load a dataset folder; PII is encrypted on the way in. All of it or nothing.
    The import is recorded in the ledger first (the files' digest), and its failure too."""
    from custodes.cli.dataset_commands import import_command
    from custodes.cli.recording import recorded

    rt = Runtime.from_env()
    rt.migrated_engine()
    with recorded(rt, "dataset.import", extra=_folder_summary(folder)):
        import_command(folder, quarantine, delete_source)


def _folder_summary(folder: Path) -> dict[str, str | int | bool | None]:
    """What the ledger says of an import: SHA-256 over the files' names and bytes (which export
    it was) and each file's line count (how many employees, cases… it may change); no PII."""
    import hashlib

    from custodes.dataset.schema import DATASET_FILES
    from custodes.errors import InputError

    if not folder.is_dir():
        raise InputError(f"{folder}: not a dataset folder")
    digest = hashlib.sha256()
    summary: dict[str, str | int | bool | None] = {}
    for name in DATASET_FILES:
        path = folder / name
        if path.is_file():
            digest.update(name.encode() + b"\0")
            lines = 0
            with path.open("rb") as handle:
                for chunk in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(chunk)
                    lines += chunk.count(b"\n")
            # "1234_lines", not an integer: the ledger's guard reads 8+ digit numbers as phones.
            summary[f"lines.{path.stem}"] = f"{lines}_lines"
    summary["files"] = digest.hexdigest()
    return summary


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
    yes: Annotated[bool, typer.Option("--yes", help="Confirm: erasure cannot be undone.")] = False,
) -> None:
    """Crypto-shred one customer: their data key is destroyed, their PII unrecoverable.
    Irreversible, so it needs --yes (or a confirmation on a terminal), and it is ledgered."""
    from sqlalchemy.orm import Session

    from custodes.cli.recording import operator as os_account
    from custodes.cli.recording import recorded, safe_id
    from custodes.errors import InputError
    from custodes.marketplace.models import Customer, Employee
    from custodes.store.engine import transaction
    from custodes.vault.service import erase_customer

    rt = Runtime.from_env()
    engine = rt.migrated_engine()
    with Session(engine) as session:
        customer = session.get(Customer, customer_id)
        ordered_by = session.get(Employee, operator)
    if customer is None:
        raise InputError(f"no customer {customer_id}")
    if ordered_by is None or ordered_by.role != "privacy_officer":
        raise InputError(f"{operator} is not a privacy officer; erasure is theirs to order")
    if not yes:
        if not sys.stdin.isatty():
            raise InputError("erasure cannot be undone: pass --yes to confirm")
        typer.confirm(f"Erase customer {customer_id} for good?", abort=True)
    extra = {"ordered_by": safe_id(rt, operator)}
    refs = [f"customer:{customer.pseudonym}"]
    with (
        recorded(rt, "customer.erase", refs, extra, os_account()),
        transaction(engine) as session,
    ):
        erase_customer(session, customer_id)
    typer.echo(f"customer {customer_id} erased")


@app.command()
def demo(
    home: Annotated[Path, typer.Option(help="Folder for the demo's keys and database.")] = Path(
        ".custodes-demo"
    ),
    seed: Annotated[int, typer.Option(help="Simulator seed.")] = 7,
    customers: Annotated[int, typer.Option(min=1)] = 2000,
    employees: Annotated[int, typer.Option(min=10)] = 60,
    days: Annotated[int, typer.Option(min=1)] = 14,
    serve: Annotated[bool, typer.Option(help="Serve the console afterwards.")] = False,
) -> None:
    """The main job: keys, database, a synthetic marketplace imported into the vault, a summary."""
    from custodes.cli.demo import DemoOptions, run_demo

    run_demo(DemoOptions(home, seed, customers, employees, days), Console())
    if serve:
        console.print("the console is not built yet; nothing to serve (use --no-serve)")


@app.command()
def sim(
    out_dir: Annotated[Path, typer.Argument(help="Folder to write the dataset into.")],
    seed: Annotated[int, typer.Option()] = 7,
    customers: Annotated[int, typer.Option(min=1)] = 1000,
    employees: Annotated[int, typer.Option(min=10)] = 50,
    days: Annotated[int, typer.Option(min=1)] = 30,
    insiders: Annotated[
        int, typer.Option(min=0, help="Plant this many insiders (labels go beside OUT_DIR).")
    ] = 0,
    scenarios: Annotated[
        str | None, typer.Option(help="Comma-separated insider scenarios to cycle through.")
    ] = None,
    labels: Annotated[
        Path | None, typer.Option(help="Where the labels go (default: OUT_DIR.labels.json).")
    ] = None,
    force: Annotated[bool, typer.Option(help="Overwrite an existing dataset folder.")] = False,
) -> None:
    """Write a deterministic synthetic marketplace in the dataset-folder format."""
    from custodes.cli.sim_commands import sim_command
    from custodes.sim import SimConfig

    config = SimConfig(seed=seed, customers=customers, employees=employees, days=days)
    sim_command(out_dir, config, insiders=insiders, scenarios=scenarios, labels=labels, force=force)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Bind address (loopback by default).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
    workers: Annotated[
        int, typer.Option(min=1, help="API worker processes; above 1, a sequencer process too.")
    ] = 1,
) -> None:
    """Run the HTTP API (uvicorn) on the configured database.

    Prints where it listens, the home, database, ledger size and policy; then logs JSON lines
    (access log and application logs) on stderr at CUSTODES_LOG_LEVEL.
    """
    import uvicorn

    from custodes.cli.serving import banner, check_listen
    from custodes.web.app import create_app
    from custodes.web.logs import configure_logging

    rt = Runtime.from_env()
    engine = rt.migrated_engine()
    check_listen(host, port)
    services = rt.services()
    sha256 = services.policy.sha256 if services.policy is not None else "-"
    run_options: dict[str, Any] = {
        "host": host,
        "port": port,
        "log_config": None,  # our JSON-lines handler, not uvicorn's text format
        "access_log": False,  # replaced by custodes.web.access_log (route templates only)
        "log_level": rt.settings.log_level,
    }
    for line in banner(rt, engine, sha256, host, port, workers):
        typer.echo(line)
    configure_logging(rt.settings.log_level)
    if workers == 1:
        uvicorn.run(create_app(engine, services), **run_options)
        return
    from custodes.web.metrics import prepare_multiprocess
    from custodes.web.worker import sequencer_socket

    # Before any worker starts: their counters live in files the /metrics answer sums.
    prepare_multiprocess(rt.settings.home / "run" / "metrics")
    sequencer = _start_sequencer(sequencer_socket(rt.settings.home))
    try:
        uvicorn.run(
            "custodes.cli.serving:create_logged_worker_app",
            factory=True,
            workers=workers,
            **run_options,
        )
    finally:
        sequencer.terminate()
        sequencer.wait(timeout=30)


def _start_sequencer(path: Path) -> Any:
    """Start `custodes sequencer` and wait until its socket answers."""
    import socket
    import subprocess
    import time

    from custodes.errors import ConfigError

    process = subprocess.Popen([sys.executable, "-m", "custodes.cli.main", "sequencer"])
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ConfigError("the sequencer process exited; is another one running?")
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
                probe.connect(str(path))
            return process
        except OSError:
            time.sleep(0.1)
    process.terminate()
    raise ConfigError(f"the sequencer did not listen on {path}")


@app.command()
def sequencer() -> None:
    """Hold the log and serve appends to local API workers over a Unix socket."""
    import signal

    from custodes.ledger.remote import SequencerServer
    from custodes.ledger.sequencer import GroupCommitter
    from custodes.ledger.witnessing import WitnessLoop
    from custodes.web.worker import sequencer_socket

    rt = Runtime.from_env()
    services = rt.services()
    with rt.sequencer() as seq:
        committer = GroupCommitter(seq)
        server = SequencerServer(committer, sequencer_socket(rt.settings.home))
        witnessing = WitnessLoop(seq.engine, services.witnesses).start()
        signal.signal(signal.SIGTERM, lambda *_: server.stop())
        try:
            server.serve_forever()
        finally:
            witnessing.stop()
            committer.close()


@policy_app.command("apply")
def policy_apply(
    file: Path,
    applied_by: Annotated[str, typer.Option(help="Privacy officer proposing the change.")],
) -> None:
    """Propose a Cedar policy (validated against the schema). It is dual-controlled: a second,
    independent privacy officer approves its digest (`POST /v1/requests/ID/approve`), then the
    proposer runs `custodes policy execute ID`. Works while `serve` runs."""
    from custodes.access.policy_store import propose_policy
    from custodes.cli.recording import open_door
    from custodes.errors import InputError

    if not file.is_file():
        raise InputError(f"{file}: no such policy file")
    rt = Runtime.from_env()
    with open_door(rt) as door:
        outcome = propose_policy(door, file.read_text(), applied_by)
        decision = outcome.decision
        if decision.outcome != "pending" or decision.request_id is None:
            raise InputError(f"policy change {decision.outcome}: {decision.reason}")
        digest = door.preview(decision.request_id)["digest"]
    typer.echo(
        f"policy change requested: {decision.request_id} (digest {digest}); a second privacy "
        f"officer approves it, then `custodes policy execute {decision.request_id} --by "
        f"{applied_by}`"
    )


@policy_app.command("execute")
def policy_execute(
    request_id: str,
    by: Annotated[str, typer.Option(help="The privacy officer who proposed it.")],
) -> None:
    """Carry out an approved policy change: it becomes the policy in force (servers follow)."""
    from custodes.cli.recording import open_door
    from custodes.errors import InputError

    rt = Runtime.from_env()
    with open_door(rt) as door:
        outcome = door.execute(by, request_id)
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
            "requests, break-glass or case opening."
        ),
    ] = False,
) -> None:
    """Create an API token for a calling service; it is printed once and stored hashed."""
    from custodes.access.principal import ASSERT_SCOPE
    from custodes.access.tokens import create_token, parse_duration
    from custodes.cli.recording import recorded, safe_id
    from custodes.store.engine import transaction

    if trust_employee_header:
        scope = [*scope, ASSERT_SCOPE]
    lifetime = parse_duration(expires_in) if expires_in is not None else None
    rt = Runtime.from_env()
    engine = rt.migrated_engine()
    extra = {"name": safe_id(rt, name), "scopes": "/".join(sorted(set(scope)))}
    with recorded(rt, "token.create", extra=extra), transaction(engine) as session:
        token_id, token = create_token(session, name, scope, lifetime)
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
    from custodes.access.tokens import revoke_token
    from custodes.cli.recording import recorded, safe_id
    from custodes.store.engine import transaction

    rt = Runtime.from_env()
    engine = rt.migrated_engine()
    extra = {"token": safe_id(rt, token_id)}
    with recorded(rt, "token.revoke", extra=extra), transaction(engine) as session:
        revoke_token(session, token_id)
    typer.echo(f"token {token_id} revoked")


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )


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


def run() -> None:
    """Entry point: every failure becomes one line on stderr and a non-zero exit."""
    from custodes.cli.errors import debugging, explain

    try:
        # With standalone_mode off, click returns an Exit's code instead of raising it.
        code = app(standalone_mode=False)
    except (click.exceptions.Abort, typer.Abort, KeyboardInterrupt):
        print("custodes: aborted", file=sys.stderr)
        sys.exit(130)
    except (click.exceptions.Exit, typer.Exit) as exc:
        sys.exit(exc.exit_code)
    except (click.ClickException, typer.TyperException) as exc:
        # Newer typer vendors its own click: usage errors arrive as TyperException.
        _usage_error(exc)
    except Exception as exc:
        if debugging():
            raise
        print(f"custodes: error: {explain(exc)}", file=sys.stderr)
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    run()
