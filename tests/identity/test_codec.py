"""Binary fields in ledger entries: any bytes round-trip, and never trip the PII guard."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from custodes.identity._codec import from_ledger_chunks, ledger_chunks
from custodes.identity.approvals import approval_challenge
from custodes.identity.events import CREDENTIAL_REGISTER, IdentityEvent
from custodes.ledger.entry import LedgerEntry


@settings(max_examples=300, deadline=None)
@given(st.binary(min_size=1, max_size=600))
def test_chunks_round_trip_and_pass_the_ledger_guard(data: bytes) -> None:
    chunks = ledger_chunks("webauthn.blob", data)
    assert from_ledger_chunks(chunks, "webauthn.blob") == data
    assert all(len(v) <= 128 for v in chunks.values())
    entry = LedgerEntry(
        time=datetime(2026, 1, 1, tzinfo=UTC),
        actor="E1",
        action="x.y",
        decision="recorded",
        extra=chunks,
    )
    assert LedgerEntry.decode(entry.encode()) == entry


@settings(max_examples=200, deadline=None)
@given(
    st.binary(min_size=16, max_size=192),
    st.binary(min_size=40, max_size=120),
    st.integers(min_value=0, max_value=2**32 - 1),
)
def test_register_events_always_encode(cred: bytes, key: bytes, count: int) -> None:
    event = IdentityEvent(
        CREDENTIAL_REGISTER,
        "E0003",
        datetime(2026, 1, 1, tzinfo=UTC),
        method="passkey",
        credential_id=cred,
        public_key=key,
        alg=-7,
        sign_count=count,
        rp_id="localhost",
    )
    data = event.to_ledger_entry().encode()
    extra = LedgerEntry.decode(data).extra
    assert from_ledger_chunks(extra, "webauthn.public_key") == key
    assert from_ledger_chunks(extra, "webauthn.credential") == cred


@given(
    st.binary(min_size=32, max_size=32),
    st.text(min_size=1, max_size=40).filter(lambda t: "\0" not in t),
    st.sampled_from(["approve", "refuse"]),
)
def test_challenge_commits_to_each_part(digest: bytes, approval_id: str, decision: str) -> None:
    challenge = approval_challenge(digest, approval_id, decision)
    other = "refuse" if decision == "approve" else "approve"
    assert challenge != approval_challenge(digest, approval_id, other)
    assert challenge != approval_challenge(digest, approval_id + "x", decision)
    flipped = bytes([digest[0] ^ 1]) + digest[1:]
    assert challenge != approval_challenge(flipped, approval_id, decision)
