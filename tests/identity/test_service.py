"""Enrollment, passkey and password sign-in, sessions, approvals: on SQLite and PostgreSQL,
with a software authenticator and every event encoded by the real ledger entry format."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select

from custodes.identity.approvals import ApprovalProof, audit_approvals
from custodes.identity.errors import (
    ApprovalRefused,
    CredentialRefused,
    CsrfRefused,
    EmployeeRefused,
    EnrollmentRefused,
    SessionRefused,
)
from custodes.identity.events import IdentityEvent
from custodes.identity.models import Credential, Enrollment, Password, WebSession
from custodes.identity.service import IdentityService
from custodes.identity.sessions import check_csrf
from custodes.identity.settings import WebAuthnSettings
from custodes.ledger.entry import LedgerEntry
from custodes.store.engine import transaction
from tests.support.identity import add_employees

from .authenticator import SoftAuthenticator

ORIGIN = "http://localhost:8000"


@dataclass
class Ledger:
    """Appends the canonical bytes of each event's entry (so the real format checks run)."""

    entries: list[bytes] = field(default_factory=list)
    events: list[IdentityEvent] = field(default_factory=list)
    broken: bool = False

    def record(self, event: IdentityEvent) -> int:
        if self.broken:
            raise RuntimeError("ledger unavailable")
        data = event.to_ledger_entry().encode()
        assert LedgerEntry.decode(data).encode() == data
        self.entries.append(data)
        self.events.append(event)
        return len(self.entries) - 1

    def append_json(self, entry: LedgerEntry) -> int:
        self.entries.append(entry.encode())
        return len(self.entries) - 1

    def decoded(self) -> Iterator[tuple[int, dict[str, Any]]]:
        for index, data in enumerate(self.entries):
            yield index, json.loads(data)

    def actions(self) -> list[tuple[str, str, str]]:
        return [(e.action, e.employee_id, e.decision) for e in self.events]


@dataclass
class World:
    engine: Engine
    ledger: Ledger
    service: IdentityService
    now: list[datetime]

    def advance(self, **delta: float) -> None:
        self.now[0] += timedelta(**delta)

    def enroll(
        self, employee_id: str, alg: str = "ES256", password: str | None = None
    ) -> tuple[SoftAuthenticator, Any]:
        link = self.service.enroll(employee_id)
        auth = SoftAuthenticator(alg=alg)
        options = self.service.registration_options(link.token)
        new = self.service.finish_registration(
            link.token, options.challenge_id, auth.register(options.options_json), password
        )
        return auth, new


@pytest.fixture
def world(engine: Engine) -> World:
    add_employees(
        engine,
        ("E0003", "active"),
        ("E0004", "active"),
        ("E0005", "active"),
        ("E0006", "suspended"),
    )
    now = [datetime(2026, 12, 1, 9, 0, tzinfo=UTC)]
    ledger = Ledger()
    service = IdentityService(
        engine,
        WebAuthnSettings(origin=ORIGIN, rp_id="localhost"),
        ledger.record,
        clock=lambda: now[0],
    )
    return World(engine, ledger, service, now)


@pytest.mark.parametrize("alg", ["ES256", "EdDSA"])
def test_enroll_register_and_sign_in(world: World, alg: str) -> None:
    link = world.service.enroll("E0003")
    assert link.url == f"{ORIGIN}/enroll#{link.token}"
    assert world.service.enrollment_employee(link.token) == "E0003"
    auth = SoftAuthenticator(alg=alg)
    options = world.service.registration_options(link.token)
    body = json.loads(options.options_json)
    assert body["rp"]["id"] == "localhost" and body["user"]["name"] == "E0003"
    assert {p["alg"] for p in body["pubKeyCredParams"]} == {-7, -8}
    new = world.service.finish_registration(
        link.token, options.challenge_id, auth.register(options.options_json)
    )
    assert new.session.employee_id == "E0003" and new.session.method == "passkey"
    assert world.ledger.actions() == [
        ("employee.enroll", "E0003", "recorded"),
        ("credential.register", "E0003", "recorded"),
        ("employee.signin", "E0003", "recorded"),
    ]
    register = world.ledger.events[1]
    assert register.details["enrollment"] == world.ledger.events[0].details["enrollment"]
    assert register.public_key_b64 and register.credential_id == auth.credential_id
    with transaction(world.engine) as db:
        stored = db.get(Credential, register.credential_id_b64)
        assert stored is not None and stored.public_key == register.public_key
        assert stored.ledger_index == 1
        assert db.execute(select(Enrollment.used_at)).scalar_one() is not None
    # sign in again later with the same passkey, with or without naming the employee
    for employee_id in (None, "E0003"):
        options = world.service.signin_options(employee_id)
        again = world.service.finish_signin(
            options.challenge_id, auth.assert_(options.options_json)
        )
        assert again.session.employee_id == "E0003"
        assert world.service.session(again.cookie).employee_id == "E0003"


def test_enrollment_links_are_one_time_and_expire(world: World) -> None:
    link = world.service.enroll("E0003")
    options = world.service.registration_options(link.token)
    world.service.finish_registration(
        link.token, options.challenge_id, SoftAuthenticator().register(options.options_json)
    )
    with pytest.raises(EnrollmentRefused) as caught:
        world.service.registration_options(link.token)
    assert caught.value.reason == "enrollment_used"
    stale = world.service.enroll("E0004")
    world.advance(hours=25)
    with pytest.raises(EnrollmentRefused) as caught:
        world.service.registration_options(stale.token)
    assert caught.value.reason == "enrollment_expired"
    for bogus in ("", "ce_nope", "x" * 500, link.token + "x"):
        with pytest.raises(EnrollmentRefused):
            world.service.registration_options(bogus)
    with transaction(world.engine) as db:  # only hashes are stored
        hashes = db.execute(select(Enrollment.token_hash)).scalars().all()
        assert all(link.token.encode() not in h for h in hashes)


def test_enrollment_refused_for_inactive_or_unknown_employee(world: World) -> None:
    for employee_id, reason in (("E0006", "employee_suspended"), ("E9999", "employee_unknown")):
        with pytest.raises(EmployeeRefused) as caught:
            world.service.enroll(employee_id)
        assert caught.value.reason == reason
    assert world.ledger.events == []


def test_registration_challenge_is_bound_and_single_use(world: World) -> None:
    first = world.service.enroll("E0003")
    second = world.service.enroll("E0004")
    options = world.service.registration_options(first.token)
    auth = SoftAuthenticator()
    with pytest.raises(EnrollmentRefused):  # E0004's link with E0003's challenge
        world.service.finish_registration(
            second.token, options.challenge_id, auth.register(options.options_json)
        )
    with pytest.raises(CredentialRefused) as caught:  # spent by the failed attempt
        world.service.finish_registration(
            first.token, options.challenge_id, auth.register(options.options_json)
        )
    assert caught.value.reason == "stale_challenge"


@pytest.mark.parametrize("mutation", ["origin", "challenge", "no_uv"])
def test_bad_registrations_refused(world: World, mutation: str) -> None:
    link = world.service.enroll("E0003")
    options = world.service.registration_options(link.token)
    auth = SoftAuthenticator(user_verified=mutation != "no_uv")
    text = options.options_json
    if mutation == "challenge":
        text = json.dumps({**json.loads(text), "challenge": "AAAA"})
    origin = "http://evil.localhost:8000" if mutation == "origin" else None
    with pytest.raises(CredentialRefused) as caught:
        world.service.finish_registration(
            link.token, options.challenge_id, auth.register(text, origin=origin)
        )
    assert caught.value.reason == "bad_registration"
    with transaction(world.engine) as db:
        assert db.execute(select(Credential)).first() is None


def test_ledger_failure_writes_nothing(world: World) -> None:
    world.ledger.broken = True
    with pytest.raises(RuntimeError):
        world.service.enroll("E0003")
    world.ledger.broken = False
    link = world.service.enroll("E0003")
    options = world.service.registration_options(link.token)
    world.ledger.broken = True
    with pytest.raises(RuntimeError):
        world.service.finish_registration(
            link.token, options.challenge_id, SoftAuthenticator().register(options.options_json)
        )
    with transaction(world.engine) as db:
        assert db.execute(select(Enrollment)).scalars().one().used_at is None
        assert db.execute(select(Credential)).first() is None
        assert db.execute(select(WebSession)).first() is None


def test_sign_in_refusals(world: World) -> None:
    auth, _ = world.enroll("E0003")
    options = world.service.signin_options()
    answer = auth.assert_(options.options_json)
    world.service.finish_signin(options.challenge_id, answer)
    with pytest.raises(CredentialRefused) as caught:  # the same answer again
        world.service.finish_signin(options.challenge_id, answer)
    assert caught.value.reason == "stale_challenge"
    fresh = world.service.signin_options()
    with pytest.raises(CredentialRefused) as caught:  # an old answer to a new challenge
        world.service.finish_signin(fresh.challenge_id, answer)
    assert caught.value.reason == "bad_assertion"
    fresh = world.service.signin_options()
    auth.counter = 0  # a cloned authenticator lags behind: it signs count 1 again
    with pytest.raises(CredentialRefused) as caught:
        world.service.finish_signin(fresh.challenge_id, auth.assert_(fresh.options_json))
    assert caught.value.reason == "replayed_or_cloned"
    stranger = SoftAuthenticator()
    fresh = world.service.signin_options()
    with pytest.raises(CredentialRefused) as caught:
        world.service.finish_signin(fresh.challenge_id, stranger.assert_(fresh.options_json))
    assert caught.value.reason == "unknown_credential"
    fresh = world.service.signin_options()
    world.advance(minutes=6)
    with pytest.raises(CredentialRefused):
        world.service.finish_signin(fresh.challenge_id, auth.assert_(fresh.options_json, bump=10))
    denies = [(e.action, e.reason) for e in world.ledger.events if e.decision == "deny"]
    assert ("employee.signin", "bad_assertion") in denies
    assert ("employee.signin", "replayed_or_cloned") in denies


def test_suspension_ends_sign_in_and_sessions(world: World) -> None:
    auth, new = world.enroll("E0003")
    with transaction(world.engine) as db:
        from custodes.marketplace.models import Employee

        employee = db.get(Employee, "E0003")
        assert employee is not None
        employee.suspended_at = world.now[0] - timedelta(seconds=1)
    with pytest.raises(EmployeeRefused):
        world.service.session(new.cookie)
    options = world.service.signin_options()
    with pytest.raises(EmployeeRefused):
        world.service.finish_signin(options.challenge_id, auth.assert_(options.options_json))
    assert world.ledger.events[-1].reason == "employee_suspended"


def test_passwords(world: World) -> None:
    with pytest.raises(CredentialRefused) as caught:
        world.enroll("E0003", password="short")
    assert caught.value.reason == "weak_password"
    _, new = world.enroll("E0003", password="correct horse battery staple")
    assert world.service.password_signin(
        "E0003", "correct horse battery staple"
    ).session.method == ("password")
    for employee_id, password in (
        ("E0003", "wrong password!!"),
        ("E0004", "anything at all"),
        ("", "x"),
        ("E" * 100, "x"),
    ):
        with pytest.raises(CredentialRefused) as caught:
            world.service.password_signin(employee_id, password)
        assert caught.value.reason == "bad_password"
    assert ("employee.signin", "E0003", "deny") in world.ledger.actions()
    world.service.set_password(new.session, "another long passphrase")
    assert world.ledger.events[-1].action == "password.set"
    world.service.password_signin("E0003", "another long passphrase")
    with transaction(world.engine) as db:
        stored = db.get(Password, "E0003")
        assert stored is not None and stored.password_hash.startswith("$argon2id$")
        assert "passphrase" not in stored.password_hash


def test_sessions_expire_and_sign_out(world: World) -> None:
    _, new = world.enroll("E0003")
    session = world.service.session(new.cookie)
    check_csrf(session, session.csrf_token)
    for forged in (
        None,
        "",
        session.csrf_token[:-1] + ("B" if session.csrf_token.endswith("A") else "A"),
        "x",
    ):
        with pytest.raises(CsrfRefused):
            check_csrf(session, forged)
    for bad in (None, "", "cs_unknown", "x" * 1000):
        with pytest.raises(SessionRefused):
            world.service.session(bad)
    world.advance(minutes=31)  # idle
    with pytest.raises(SessionRefused) as caught:
        world.service.session(new.cookie)
    assert caught.value.reason == "session_expired"
    _, other = world.enroll("E0004")
    for _ in range(20):  # active use keeps it alive, up to the absolute limit
        world.advance(minutes=25)
        try:
            world.service.session(other.cookie)
        except SessionRefused:
            break
    assert world.now[0] - datetime(2026, 12, 1, 9, 31, tzinfo=UTC) <= timedelta(hours=8, minutes=25)
    _, third = world.enroll("E0005")
    world.service.sign_out(third.cookie)
    with pytest.raises(SessionRefused):
        world.service.session(third.cookie)
    assert world.ledger.events[-1].action == "employee.signout"
    with transaction(world.engine) as db:  # cookies are never stored, only their hashes
        for row in db.execute(select(WebSession)).scalars():
            assert third.cookie.encode() not in row.session_hash


def test_revoking_a_passkey_ends_sessions(world: World) -> None:
    auth, new = world.enroll("E0003")
    session = world.service.session(new.cookie)
    (info,) = world.service.credentials("E0003")
    world.service.revoke_credential(session, info.credential_id)
    assert world.ledger.events[-1].action == "credential.revoke"
    with pytest.raises(SessionRefused):
        world.service.session(new.cookie)
    options = world.service.signin_options()
    with pytest.raises(CredentialRefused):
        world.service.finish_signin(options.challenge_id, auth.assert_(options.options_json))


DIGEST = bytes.fromhex("ab" * 32)


def _approve(
    world: World,
    auth: SoftAuthenticator,
    approver: str,
    decision: str = "approve",
    digest: bytes = DIGEST,
    request_id: str = "rq_1",
) -> ApprovalProof:
    options = world.service.begin_approval(approver, request_id, digest, decision)
    return world.service.finish_approval(
        options.challenge_id, approver, auth.assert_(options.options_json)
    )


def _record_approval(world: World, proof: ApprovalProof) -> int:
    return world.ledger.append_json(
        LedgerEntry(
            time=world.now[0],
            actor=proof.approver_id,
            action="review.delete",
            decision="approved",
            resources=("review:R000003",),
            approval=proof.approval_id,
            extra=proof.ledger_extra(),
        )
    )


def test_approvals_online_and_offline(world: World) -> None:
    world.enroll("E0003")
    approver, _ = world.enroll("E0004")
    approver.counter = 123_456_789  # large counters must survive the ledger's PII guard
    proofs = [
        _approve(world, approver, "E0004"),
        _approve(world, approver, "E0004", "refuse", request_id="rq_2"),
    ]
    for proof in proofs:
        _record_approval(world, proof)
    report = audit_approvals(world.ledger.decoded())
    assert report.ok and report.approvals == 2 and report.credentials == 2
    assert proofs[1].sign_count > proofs[0].sign_count


def test_online_approval_refusals(world: World) -> None:
    requester, _ = world.enroll("E0003")
    approver, _ = world.enroll("E0004")
    # the requester's credential answering the approver's challenge
    options = world.service.begin_approval("E0004", "rq_1", DIGEST, "approve")
    with pytest.raises(ApprovalRefused) as caught:
        world.service.finish_approval(
            options.challenge_id, "E0004", requester.assert_(options.options_json)
        )
    assert caught.value.reason == "not_approvers_credential"
    # someone else finishing E0004's approval
    options = world.service.begin_approval("E0004", "rq_1", DIGEST, "approve")
    with pytest.raises(ApprovalRefused) as caught:
        world.service.finish_approval(
            options.challenge_id, "E0003", approver.assert_(options.options_json)
        )
    assert caught.value.reason == "not_your_approval"
    # a replay: the same answer twice, then to a new approval
    options = world.service.begin_approval("E0004", "rq_1", DIGEST, "approve")
    answer = approver.assert_(options.options_json)
    world.service.finish_approval(options.challenge_id, "E0004", answer)
    with pytest.raises(ApprovalRefused) as caught:
        world.service.finish_approval(options.challenge_id, "E0004", answer)
    assert caught.value.reason == "stale_challenge"
    options = world.service.begin_approval("E0004", "rq_1", DIGEST, "approve")
    with pytest.raises(ApprovalRefused) as caught:
        world.service.finish_approval(options.challenge_id, "E0004", answer)
    assert caught.value.reason == "bad_assertion"
    # a counter that does not move (a counterless or cloned authenticator)
    options = world.service.begin_approval("E0004", "rq_1", DIGEST, "approve")
    with pytest.raises(ApprovalRefused) as caught:
        world.service.finish_approval(
            options.challenge_id, "E0004", approver.assert_(options.options_json, bump=0)
        )
    assert caught.value.reason == "replayed_or_cloned"
    # no passkey, bad inputs
    with pytest.raises(ApprovalRefused):
        world.service.begin_approval("E0005", "rq_1", DIGEST, "approve")
    with pytest.raises(ApprovalRefused):
        world.service.begin_approval("E0004", "rq_1", b"short", "approve")
    with pytest.raises(ApprovalRefused):
        world.service.begin_approval("E0004", "rq_1", DIGEST, "maybe")


def test_offline_audit_refusals(world: World) -> None:
    approver, _ = world.enroll("E0004")
    proof = _approve(world, approver, "E0004")
    base = list(world.ledger.decoded())

    def audit_with(extra_entries: list[dict[str, Any]], prefix: list[Any] = base) -> list[str]:
        entries = prefix + [(len(prefix) + i, e) for i, e in enumerate(extra_entries)]
        return [reason for _, reason in audit_approvals(entries).failures]

    good = json.loads(
        LedgerEntry(
            time=world.now[0],
            actor="E0004",
            action="review.delete",
            decision="approved",
            extra=proof.ledger_extra(),
        ).encode()
    )
    assert audit_with([good]) == []
    assert audit_with([good, good]) == ["replayed_approval"]
    forged_digest = {**good, "extra": {**good["extra"], "webauthn.digest": "cd" * 32}}
    assert audit_with([forged_digest]) == ["bad_assertion"]
    flipped = {**good, "extra": {**good["extra"], "webauthn.decision": "refuse"}}
    assert audit_with([flipped]) == ["bad_assertion"]
    other_id = {**good, "extra": {**good["extra"], "webauthn.approval_id": "ap_other"}}
    assert audit_with([other_id]) == ["bad_assertion"]
    as_someone_else = {**good, "actor": "E0003"}
    assert audit_with([as_someone_else]) == ["not_approvers_credential"]
    # the credential registered only after the approval: not accepted
    registrations = [(i, e) for i, e in base if e["action"] == "credential.register"]
    late = [(0, good)] + [(1 + n, e) for n, (_, e) in enumerate(registrations)]
    assert [r for _, r in audit_approvals(late).failures] == ["unregistered_credential"]
    truncated = {
        **good,
        "extra": {k: v for k, v in good["extra"].items() if k != "webauthn.signature"},
    }
    assert audit_with([truncated]) == ["malformed_entry"]


def test_events_carry_no_secrets(world: World) -> None:
    _, new = world.enroll("E0003", password="correct horse battery staple")
    blob = b"\n".join(world.ledger.entries)
    assert b"correct horse" not in blob and new.cookie.encode() not in blob
    assert new.session.csrf_token.encode() not in blob
    assert b"Employee E0003" not in blob  # the employee's name never enters the ledger


def test_purge_removes_spent_challenges_and_ended_sessions(world: World) -> None:
    _, new = world.enroll("E0003")
    world.service.signin_options()  # an open challenge, not yet expired
    kept = world.service.purge_expired()
    assert kept == 1  # the registration challenge was spent
    world.service.session(new.cookie)  # the live session survives
    world.advance(hours=9)
    assert world.service.purge_expired() == 2  # the sign-in challenge and the session
    with pytest.raises(SessionRefused):
        world.service.session(new.cookie)
