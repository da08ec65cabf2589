"""Policy invariants (hypothesis over every fact combination) and ledgered policy changes."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from custodes.access.model import ACTIONS
from custodes.access.policy import Policy, default_policy_text
from custodes.access.policy_store import apply_policy, current_policy
from custodes.errors import ConfigError, InputError
from custodes.ledger.sequencer import Sequencer
from custodes.ledger.storage import LedgerReader
from custodes.marketplace.models import CASE_KINDS, EMPLOYEE_ROLES
from custodes.vault.keyring import FileKeyring
from tests.support.marketplace import seed

POLICY = Policy.default()
APPROVALS = tuple(
    f"approve.{a}"
    for a in (
        "review.delete",
        "seller.reinstate",
        "customer.export",
        "customer.view",
        "break_glass",
    )
)
contexts = st.fixed_dictionaries(
    {
        "role": st.sampled_from([*EMPLOYEE_ROLES, ""]),
        "active": st.booleans(),
        "justification": st.sampled_from(
            [
                "customer_contact",
                "order_dispute",
                "review_report",
                "seller_appeal",
                "seller_support",
                "investigation",
                "legal",
                "break_glass",
            ]
        ),
        "case_open": st.booleans(),
        "case_kind": st.sampled_from([*CASE_KINDS, ""]),
        "case_covers_customer": st.booleans(),
        "case_covers_seller": st.booleans(),
        "case_covers_review": st.booleans(),
        "contact_fields_only": st.booleans(),
        "break_glass_active": st.booleans(),
        "independent": st.booleans(),
    }
)
actions = st.sampled_from([*ACTIONS, *APPROVALS, "customer.delete_everything"])


@settings(max_examples=400, deadline=None)
@given(action=actions, context=contexts)
def test_inactive_employees_are_always_denied(action: str, context: dict) -> None:
    context["active"] = False
    assert not POLICY.evaluate(action, context).allowed


@settings(max_examples=400, deadline=None)
@given(action=actions, context=contexts)
def test_invariants_hold_for_every_fact_combination(action: str, context: dict) -> None:
    answer = POLICY.evaluate(action, context)
    fresh = Policy(default_policy_text()).evaluate(action, context)
    assert answer == fresh  # the cache never changes an answer
    if action == "customer.delete_everything":
        assert not answer.allowed  # deny by default
    if action.startswith("approve.") and answer.allowed:
        assert context["independent"]  # never the requester or their chain
    if action == "customer.view" and answer.allowed:
        assert context["break_glass_active"] or (
            context["case_open"] and context["role"] in ("support_agent", "investigator")
        )
    if action in ("review.delete", "seller.reinstate") and answer.allowed:
        assert context["role"] == "trust_safety" and context["case_open"]


def test_a_bad_policy_is_refused_and_nothing_recorded(engine: Engine) -> None:
    with Sequencer(engine) as seq:
        appender = _Appender(seq)
        with pytest.raises(ConfigError):
            apply_policy(engine, appender, "permit(principal, action, resource) when {", "P1")
        assert seq.size == 0


def test_policy_change_is_ledgered_and_takes_effect(engine: Engine, keyring: FileKeyring) -> None:
    seed(engine, keyring)
    text = default_policy_text().replace('"data_analyst", ', "")
    with Sequencer(engine) as seq:
        row = apply_policy(engine, _Appender(seq), text, "P1")
    entry = json.loads(LedgerReader(engine).entry(row.ledger_index))
    assert entry["kind"] == "policy.change" and entry["extra"]["sha256"] == row.sha256
    policy = current_policy(engine)
    assert policy.sha256 == row.sha256
    analyst = {
        "role": "data_analyst",
        "active": True,
        "justification": "customer_contact",
        "case_open": False,
        "case_kind": "",
        "case_covers_customer": False,
        "case_covers_seller": False,
        "case_covers_review": False,
        "contact_fields_only": True,
        "break_glass_active": False,
        "independent": False,
    }
    assert POLICY.evaluate("customer.search", analyst).allowed
    assert not policy.evaluate("customer.search", analyst).allowed


class _Appender:
    def __init__(self, seq: Sequencer) -> None:
        self.seq = seq

    def append(
        self, data: bytes, index: object = (), timeout: float = 10.0, guards: object = ()
    ) -> int:
        return self.seq.append_batch([data], [index])[0]  # type: ignore[list-item]


def test_only_an_active_policy_administrator_applies_a_valid_policy(
    engine: Engine, keyring: FileKeyring
) -> None:
    seed(engine, keyring)
    allow_all = "permit (principal, action, resource);"
    with Sequencer(engine) as seq:
        for who in ("E9999", "A1", "X1"):  # nobody, a support agent, suspended
            with pytest.raises(InputError):
                apply_policy(engine, _Appender(seq), default_policy_text(), who)
        with pytest.raises(ConfigError, match="rolee"):
            misspelt = default_policy_text().replace("context.role ==", "context.rolee ==", 1)
            apply_policy(engine, _Appender(seq), misspelt, "P1")
        assert seq.size == 0
        apply_policy(engine, _Appender(seq), allow_all, "P1")
    assert current_policy(engine).text == allow_all


def test_a_policy_row_inserted_by_hand_is_refused(engine: Engine, keyring: FileKeyring) -> None:
    from datetime import UTC, datetime

    from custodes.access.models import PolicyVersion
    from custodes.access.policy_store import PolicyIntegrityError
    from custodes.store.engine import transaction

    seed(engine, keyring)
    with transaction(engine) as session:
        session.add(
            PolicyVersion(
                version=1,
                sha256="0" * 64,
                text="permit (principal, action, resource);",
                applied_by="P1",
                applied_at=datetime.now(UTC),
                ledger_index=0,
            )
        )
    with pytest.raises(PolicyIntegrityError):
        current_policy(engine)
    with Sequencer(engine) as seq:  # a genuine change, then its text edited in place
        row = apply_policy(engine, _Appender(seq), default_policy_text(), "P1")
    with transaction(engine) as session:
        stored = session.get(PolicyVersion, row.version)
        assert stored is not None
        stored.text = "permit (principal, action, resource);"
    with pytest.raises(PolicyIntegrityError):
        current_policy(engine)
