"""Sign counts (WebAuthn L2/L3): 0 stored and 0 asserted is an authenticator without a counter
and may approve; a counter that goes backwards, or stays put above 0, is refused; online and in
the offline audit alike. A counterless approval still cannot be replayed: its challenge is
spent, and it commits to digest, approval id and decision."""

from __future__ import annotations

import json
from typing import Any

import pytest

from custodes.identity.approvals import ApprovalProof, audit_approvals, counter_ok
from custodes.identity.errors import ApprovalRefused
from custodes.identity.models import Credential
from custodes.store.engine import transaction
from tests.support.authenticator import SoftAuthenticator
from tests.support.identity_worlds import DIGEST, World, approve, record_approval


@pytest.mark.parametrize(
    ("stored", "asserted", "ok"),
    [(0, 0, True), (0, 1, True), (4, 5, True), (5, 5, False), (5, 4, False), (5, 0, False)],
)
def test_counter_rule(stored: int, asserted: int, ok: bool) -> None:
    assert counter_ok(stored, asserted) is ok


def _counterless(world: World, employee_id: str) -> SoftAuthenticator:
    auth, _ = world.enroll(employee_id)
    auth.counter = 0  # enrolled at 0 and never moves, like many platform passkeys
    return auth


def _approve_flat(world: World, auth: SoftAuthenticator, request_id: str) -> ApprovalProof:
    options = world.service.begin_approval("E0004", request_id, DIGEST, "approve")
    answer = auth.assert_(options.options_json, bump=0)
    return world.service.finish_approval(options.challenge_id, "E0004", answer)


def test_counterless_authenticator_approves_online_and_offline(world: World) -> None:
    auth = _counterless(world, "E0004")
    proofs = [_approve_flat(world, auth, "rq_1"), _approve_flat(world, auth, "rq_2")]
    assert [p.sign_count for p in proofs] == [0, 0]
    for proof in proofs:
        record_approval(world, proof)
    report = audit_approvals(world.ledger.decoded())
    assert report.ok, report.failures
    assert report.approvals == 2
    with transaction(world.engine) as db:
        (row,) = db.query(Credential).all()
        assert row.sign_count == 0


def test_counterless_answer_cannot_be_replayed(world: World) -> None:
    auth = _counterless(world, "E0004")
    options = world.service.begin_approval("E0004", "rq_1", DIGEST, "approve")
    answer = auth.assert_(options.options_json, bump=0)
    proof = world.service.finish_approval(options.challenge_id, "E0004", answer)
    with pytest.raises(ApprovalRefused) as caught:  # the same approval again: challenge spent
        world.service.finish_approval(options.challenge_id, "E0004", answer)
    assert caught.value.reason == "stale_challenge"
    for decision, digest in (("approve", DIGEST), ("refuse", DIGEST), ("approve", b"\1" * 32)):
        fresh = world.service.begin_approval("E0004", "rq_1", digest, decision)
        with pytest.raises(ApprovalRefused) as caught:  # another approval, decision or digest
            world.service.finish_approval(fresh.challenge_id, "E0004", answer)
        assert caught.value.reason == "bad_assertion"
    record_approval(world, proof)
    record_approval(world, proof)  # the same entry twice in the ledger
    failures = audit_approvals(world.ledger.decoded()).failures
    assert [reason for _, reason in failures] == ["replayed_approval"]


def test_counter_starting_after_zero_is_accepted(world: World) -> None:
    auth = _counterless(world, "E0004")
    _approve_flat(world, auth, "rq_1")
    auth.counter = 7
    assert _approve_flat(world, auth, "rq_2").sign_count == 7


@pytest.mark.parametrize("back_to", [0, 3, 7])
def test_counter_going_back_or_standing_still_is_refused(world: World, back_to: int) -> None:
    auth = _counterless(world, "E0004")
    auth.counter = 7
    _approve_flat(world, auth, "rq_1")
    auth.counter = back_to
    with pytest.raises(ApprovalRefused) as caught:
        _approve_flat(world, auth, "rq_2")
    assert caught.value.reason == "replayed_or_cloned"


def test_offline_audit_refuses_a_count_going_back_to_zero(world: World) -> None:
    auth = _counterless(world, "E0004")
    flat = _approve_flat(world, auth, "rq_1")  # 0 after 0: accepted online
    auth.counter = 7
    counted = _approve_flat(world, auth, "rq_2")  # 7 after 0: accepted online
    registrations = list(world.ledger.decoded())
    entries: list[tuple[int, dict[str, Any]]] = list(registrations)
    for proof in (counted, flat):  # recorded in the wrong order: 7, then 0
        index = record_approval(world, proof)
        entries.append((index, json.loads(world.ledger.entries[index])))
    failures = audit_approvals(entries).failures
    assert [reason for _, reason in failures] == ["replayed_or_cloned"]


def test_nonzero_counter_must_rise_even_after_sign_in(world: World) -> None:
    """The rule is shared: an approval after a counting sign-in compares with that count."""
    approver, _ = world.enroll("E0004")
    approver.counter = 40
    options = world.service.signin_options()
    world.service.finish_signin(options.challenge_id, approver.assert_(options.options_json))
    approve(world, approver, "E0004")  # 42 after 41
    with pytest.raises(ApprovalRefused):
        options = world.service.begin_approval("E0004", "rq_2", DIGEST, "approve")
        world.service.finish_approval(
            options.challenge_id, "E0004", approver.assert_(options.options_json, bump=0)
        )
