"""The demo's one-door story on the simulated marketplace: a reveal under a case, a denial
without one, a review deletion that waits for an independent second person approving with a
passkey, then the ledger exported and verified offline."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from rich.console import Console
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from custodes.config import Settings
from custodes.marketplace.models import Case, Customer, Employee, Review
from custodes.vault.keyring import FileKeyring

if TYPE_CHECKING:
    from custodes.access.door import Door

CONTACT_CASE, REPORT_CASE = "DEMO-CONTACT", "DEMO-REPORT"


@dataclass(frozen=True)
class Cast:
    """Who plays which part, from the simulated marketplace."""

    agent: str
    customer: str  # the agent's case is about this customer
    stranger: str  # a customer the agent has no case for
    tns: str  # trust & safety: asks to delete the review
    review: str
    review_seller: str
    approver: str | None = None  # an independent second person, if the marketplace has one


def tell_story(engine: Engine, keyring: FileKeyring, settings: Settings, console: Console) -> None:
    """Reveal under a case, a denial without one, a review deletion waiting for a second person."""
    from custodes.access.door import Door
    from custodes.access.policy import Policy
    from custodes.access.signing import load_or_create_approval_key
    from custodes.ledger.keys import load_log_signer, load_signer_state, write_log_keys
    from custodes.ledger.sequencer import GroupCommitter, Sequencer

    write_log_keys(settings.keys_dir, settings.ledger_origin)
    signer = load_log_signer(settings.keys_dir)
    cast = cast_story(engine)
    if cast is None:
        console.print("[yellow]the simulated marketplace has no open cases to tell the story[/]")
        return
    state = load_signer_state(settings.keys_dir, settings.ledger_origin)
    sequencer = Sequencer(engine, signer, state=state).open()
    committer = GroupCommitter(sequencer)
    approval_key = load_or_create_approval_key(settings.keys_dir)
    door = Door(engine, keyring, committer, Policy.default(), approval_key)
    try:
        console.print("[bold]4.[/] the one door")
        _reveals(door, cast, console)
        _review_deletion(door, cast, Passkeys(engine, committer), console)
    finally:
        committer.close()
        sequencer.close()
    _export_and_verify(engine, settings, signer.verifier(), console)


def _reveals(door: Door, cast: Cast, console: Console) -> None:
    from custodes.access.model import Justification
    from custodes.vault.masking import mask_email

    why = Justification("customer_contact", CONTACT_CASE, "customer asked about a refund")
    shown = door.reveal(cast.agent, cast.customer, ("email",), why)
    email = (shown.data or {}).get("email") or ""
    console.print(
        f"   {cast.agent} reveals the e-mail of {cast.customer} under case {CONTACT_CASE}: "
        f"[green]{shown.decision.outcome}[/] ({mask_email(email)} shown to the agent), "
        f"ledger #{shown.decision.ledger_index}"
    )
    denied = door.reveal(cast.agent, cast.stranger, ("email",), Justification("customer_contact"))
    console.print(
        f"   {cast.agent} tries {cast.stranger} without a case: [red]{denied.decision.outcome}[/] "
        f"({denied.decision.reason}), ledger #{denied.decision.ledger_index}"
    )


def _review_deletion(door: Door, cast: Cast, passkeys: Passkeys, console: Console) -> None:
    from custodes.access.model import Justification, Resource

    tns = cast.tns
    asked = door.request(
        tns,
        "review.delete",
        Resource("review", (cast.review,)),
        Justification("review_report", REPORT_CASE, "reported as fake"),
    )
    request_id = asked.decision.request_id or ""
    console.print(
        f"   {tns} asks to delete review {cast.review}: [yellow]{asked.decision.outcome}[/] "
        f"(request {request_id}), ledger #{asked.decision.ledger_index}"
    )
    if not request_id:
        return
    digest = bytes.fromhex(door.preview(request_id)["digest"])
    selfish = door.approve(passkeys.approval(tns, request_id, digest))
    console.print(
        f"   {tns} approves their own request with their passkey: "
        f"[red]{selfish.decision.outcome}[/] ({selfish.decision.reason})"
    )
    if cast.approver:
        door.approve(passkeys.approval(cast.approver, request_id, digest))
        done = door.execute(tns, request_id)
        console.print(
            f"   {cast.approver} (independent) approves; executed once: "
            f"[green]{done.decision.outcome}[/], ledger #{done.decision.ledger_index}"
        )


def _export_and_verify(engine: Engine, settings: Settings, verifier: Any, console: Console) -> None:
    from custodes.ledger.export import export_log
    from custodes.ledger.storage import LedgerReader
    from custodes.ledger.verify import folder_fetcher, verify_log

    export = settings.home / "ledger-export"
    export_log(LedgerReader(engine), export)
    report = verify_log(folder_fetcher(export), verifier)
    console.print(
        f"[bold]5.[/] ledger: {report.size} entries, exported to {export}; offline verify: "
        f"{'[green]ok[/]' if report.ok else '[red]FAILED[/]'}"
    )


class Passkeys:
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


def cast_story(engine: Engine) -> Cast | None:
    """Cast the story from the simulated marketplace and open today's two cases for it."""
    with Session(engine) as session, session.begin():
        agent, tns = _first(session, "support_agent"), _first(session, "trust_safety")
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
        cast = Cast(agent, customers[0], customers[1], tns, review[0], review[1])
        _open_cases(session, cast)
        return replace(cast, approver=_independent_of(session, tns))


def _first(session: Session, role: str) -> str | None:
    return session.scalar(
        select(Employee.employee_id)
        .where(Employee.role == role, Employee.left_at.is_(None))
        .order_by(Employee.employee_id)
        .limit(1)
    )


def _open_cases(session: Session, cast: Cast) -> None:
    now = datetime.now(UTC)
    session.add(
        Case(
            case_id=CONTACT_CASE,
            kind="customer_contact",
            employee_id=cast.agent,
            customer_id=cast.customer,
            opened_at=now,
        )
    )
    session.add(
        Case(
            case_id=REPORT_CASE,
            kind="review_report",
            employee_id=cast.tns,
            seller_id=cast.review_seller,
            opened_at=now,
        )
    )
    session.flush()


def _independent_of(session: Session, requester: str) -> str | None:
    """The first trust & safety member or manager independent of the requester."""
    from custodes.access.facts import independent

    candidates = session.scalars(
        select(Employee.employee_id)
        .where(Employee.role.in_(["trust_safety", "manager"]), Employee.left_at.is_(None))
        .order_by(Employee.employee_id)
    )
    return next((e for e in candidates if independent(session, e, requester)), None)
