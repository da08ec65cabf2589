"""`custodes demo`: the story so far, on an embedded SQLite database under its own folder.

Each run starts from nothing (new keys, new database) so it can be repeated and scripted.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from custodes.config import Settings
from custodes.dataset.loader import import_dataset
from custodes.errors import InputError
from custodes.forensics.canaries import canary_ids
from custodes.marketplace.models import Case, Customer, Employee, Order, Review, Seller
from custodes.sim import SimConfig, generate
from custodes.store.engine import make_engine
from custodes.store.migrate import upgrade
from custodes.vault.keyring import FileKeyring
from custodes.vault.service import masked_view, vault_stats


@dataclass(frozen=True)
class DemoOptions:
    home: Path
    seed: int = 7
    customers: int = 2000
    employees: int = 60
    days: int = 14


DEMO_MARKER = ".custodes-demo"


def _replace_demo_home(home: Path) -> None:
    """Start from an empty folder, but only ever delete one an earlier demo made: pointed at a
    real home by mistake, the demo would otherwise destroy its keyring and database."""
    if home.exists():
        if not home.is_dir() or (any(home.iterdir()) and not (home / DEMO_MARKER).exists()):
            raise InputError(
                f"{home} is not a demo folder (no {DEMO_MARKER} marker); not touching it"
            )
        shutil.rmtree(home)
    home.mkdir(parents=True)
    (home / DEMO_MARKER).write_text("made by `custodes demo`; the next demo replaces this folder\n")


def run_demo(options: DemoOptions, console: Console) -> dict[str, int]:
    """Generate, encrypt, import and summarise a small marketplace; returns the counts shown."""
    _replace_demo_home(options.home)
    settings = Settings(home=options.home, database_url=f"sqlite:///{options.home / 'custodes.db'}")
    keyring = FileKeyring.create(settings.keys_dir)
    engine = make_engine(settings.database_url)
    upgrade(engine)
    console.print(f"[bold]1.[/] keys and database under {options.home} (KEK v1, SQLite, WAL)")

    data_dir = options.home / "dataset"
    generate(
        data_dir,
        SimConfig(
            seed=options.seed,
            customers=options.customers,
            employees=options.employees,
            days=options.days,
        ),
    )
    console.print(f"[bold]2.[/] synthetic marketplace written to {data_dir} (seed {options.seed})")
    report = import_dataset(engine, data_dir, keyring)
    # The plaintext dataset has served its purpose: PII must not linger outside the vault.
    shutil.rmtree(data_dir)
    console.print("[bold]3.[/] imported; PII sealed in the vault, plaintext dataset deleted")

    canaries = canary_ids(engine)  # synthetic people: never counted as customers
    with Session(engine) as session:
        counts = {
            "customers": _count(session, Customer) - len(canaries),
            "employees": _count(session, Employee),
            "sellers": _count(session, Seller),
            "orders": _count(session, Order),
            "reviews": _count(session, Review),
            "cases": _count(session, Case),
            "access events": report.counts["access"],
        }
        stats = vault_stats(session, canaries)
        sample_ids = list(
            session.scalars(select(Customer.customer_id).order_by(Customer.customer_id).limit(3))
        )
        sample = masked_view(session, sample_ids)

    table = Table(title="marketplace")
    table.add_column("what")
    table.add_column("count", justify="right")
    for name, value in {**counts, **{f"vault {k}": v for k, v in stats.items()}}.items():
        table.add_row(name, str(value))
    console.print(table)
    _one_door_story(engine, keyring, settings, console)
    masked = Table(title="masked sample (what search results show)")
    for column in ("customer", "pseudonym", "name", "email", "phone"):
        masked.add_column(column)
    for row in sample:
        masked.add_row(row.customer_id, row.pseudonym, row.name, row.email, row.phone)
    console.print(masked)
    engine.dispose()
    return counts


def _count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def _one_door_story(
    engine: Engine, keyring: FileKeyring, settings: Settings, console: Console
) -> None:
    """Reveal under a case, a denial without one, a review deletion waiting for a second person."""
    from custodes.access.door import Door
    from custodes.access.model import Justification, Resource
    from custodes.access.policy import Policy
    from custodes.access.signing import load_or_create_approval_key
    from custodes.ledger.export import export_log
    from custodes.ledger.keys import load_log_signer, load_signer_state, write_log_keys
    from custodes.ledger.sequencer import GroupCommitter, Sequencer
    from custodes.ledger.storage import LedgerReader
    from custodes.ledger.verify import folder_fetcher, verify_log
    from custodes.vault.masking import mask_email

    write_log_keys(settings.keys_dir, settings.ledger_origin)
    signer = load_log_signer(settings.keys_dir)
    story = _story_cast(engine)
    if story is None:
        console.print("[yellow]the simulated marketplace has no open cases to tell the story[/]")
        return
    agent, case, customer, stranger, tns, report, review, approver = story
    state = load_signer_state(settings.keys_dir, settings.ledger_origin)
    sequencer = Sequencer(engine, signer, state=state).open()
    committer = GroupCommitter(sequencer)
    door = Door(
        engine, keyring, committer, Policy.default(), load_or_create_approval_key(settings.keys_dir)
    )
    try:
        console.print("[bold]4.[/] the one door")
        why = Justification("customer_contact", case, "customer asked about a refund")
        shown = door.reveal(agent, customer, ("email",), why)
        email = (shown.data or {}).get("email") or ""
        console.print(
            f"   {agent} reveals the e-mail of {customer} under case {case}: "
            f"[green]{shown.decision.outcome}[/] ({mask_email(email)} shown to the agent), "
            f"ledger #{shown.decision.ledger_index}"
        )
        denied = door.reveal(agent, stranger, ("email",), Justification("customer_contact"))
        console.print(
            f"   {agent} tries {stranger} without a case: [red]{denied.decision.outcome}[/] "
            f"({denied.decision.reason}), ledger #{denied.decision.ledger_index}"
        )
        asked = door.request(
            tns,
            "review.delete",
            Resource("review", (review,)),
            Justification("review_report", report, "reported as fake"),
        )
        request_id = asked.decision.request_id or ""
        console.print(
            f"   {tns} asks to delete review {review}: [yellow]{asked.decision.outcome}[/] "
            f"(request {request_id}), ledger #{asked.decision.ledger_index}"
        )
        if request_id:
            digest = bytes.fromhex(door.preview(request_id)["digest"])
            passkeys = _Passkeys(engine, committer)
            selfish = door.approve(passkeys.approval(tns, request_id, digest))
            console.print(
                f"   {tns} approves their own request with their passkey: "
                f"[red]{selfish.decision.outcome}[/] ({selfish.decision.reason})"
            )
            if approver:
                door.approve(passkeys.approval(approver, request_id, digest))
                done = door.execute(tns, request_id)
                console.print(
                    f"   {approver} (independent) approves; executed once: "
                    f"[green]{done.decision.outcome}[/], ledger #{done.decision.ledger_index}"
                )
    finally:
        committer.close()
        sequencer.close()
    export = settings.home / "ledger-export"
    export_log(LedgerReader(engine), export)
    report_ = verify_log(folder_fetcher(export), signer.verifier())
    console.print(
        f"[bold]5.[/] ledger: {report_.size} entries, exported to {export}; offline verify: "
        f"{'[green]ok[/]' if report_.ok else '[red]FAILED[/]'}"
    )


class _Passkeys:
    """The demo's employees approve with passkeys like everyone else: a software authenticator
    each, enrolled through the identity service (ledgered), answering the approval challenge."""

    def __init__(self, engine: Engine, ledger: Any) -> None:
        from custodes.identity.recording import ledger_recorder
        from custodes.identity.service import IdentityService
        from custodes.identity.settings import WebAuthnSettings

        self.settings = WebAuthnSettings()
        record = ledger_recorder(lambda data: ledger.append(data).index)
        self.service = IdentityService(engine, self.settings, record)
        self.keys: dict[str, Any] = {}

    def approval(self, employee_id: str, request_id: str, digest: bytes) -> Any:
        from custodes.identity.softkey import SoftAuthenticator

        key = self.keys.get(employee_id)
        if key is None:
            key = self.keys[employee_id] = SoftAuthenticator(origin=self.settings.origin)
            link = self.service.enroll(employee_id)
            options = self.service.registration_options(link.token)
            credential = key.register(options.options_json)
            self.service.finish_registration(link.token, options.challenge_id, credential)
        start = self.service.begin_approval(employee_id, request_id, digest, "approve")
        answer = key.assert_(start.options_json, rp_id=self.settings.rp_id)
        return self.service.finish_approval(start.challenge_id, employee_id, answer)


def _story_cast(engine: Engine) -> tuple[str, str, str, str, str, str, str, str | None] | None:
    """Cast the story from the simulated marketplace and open today's two cases for it."""
    from datetime import UTC, datetime

    from custodes.access.facts import independent

    def first(role: str) -> str | None:
        return session.scalar(
            select(Employee.employee_id)
            .where(Employee.role == role, Employee.left_at.is_(None))
            .order_by(Employee.employee_id)
            .limit(1)
        )

    with Session(engine) as session, session.begin():
        agent, tns = first("support_agent"), first("trust_safety")
        customers = list(
            session.scalars(select(Customer.customer_id).order_by(Customer.customer_id).limit(2))
        )
        review = session.execute(
            select(Review.review_id, Review.seller_id)
            .where(Review.status == "published")
            .order_by(Review.rating, Review.review_id)
            .limit(1)
        ).first()
        if agent is None or tns is None or len(customers) < 2 or review is None:
            return None
        now = datetime.now(UTC)
        session.add(
            Case(
                case_id="DEMO-CONTACT",
                kind="customer_contact",
                employee_id=agent,
                customer_id=customers[0],
                opened_at=now,
            )
        )
        session.add(
            Case(
                case_id="DEMO-REPORT",
                kind="review_report",
                employee_id=tns,
                seller_id=review[1],
                opened_at=now,
            )
        )
        session.flush()
        approver = next(
            (
                e
                for e in session.scalars(
                    select(Employee.employee_id)
                    .where(
                        Employee.role.in_(["trust_safety", "manager"]), Employee.left_at.is_(None)
                    )
                    .order_by(Employee.employee_id)
                )
                if independent(session, e, tns)
            ),
            None,
        )
    return (
        agent,
        "DEMO-CONTACT",
        customers[0],
        customers[1],
        tns,
        "DEMO-REPORT",
        review[0],
        approver,
    )
