"""The sequencer answers `distinct` window guards from memory (`ledger.window_cache`). Whatever
the history (times out of order, other actors, refusals, batches that fail, rows someone else
wrote), each guarded append must be accepted exactly when counting the index by hand says so:
on both backends, over random histories."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, insert, text

from custodes.ledger import window_cache
from custodes.ledger.appends import IndexRow, Item, Receipt
from custodes.ledger.errors import LedgerUnavailable
from custodes.ledger.guard import Guard
from custodes.ledger.models import LedgerAccessIndex
from custodes.ledger.note import Signer, generate_signer_key
from custodes.ledger.sequencer import Sequencer
from tests.support.windows import holds_by_hand

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
HOUR, DAY = timedelta(hours=1), timedelta(days=1)
ORIGIN = "custodes.test/windows"


@pytest.fixture
def signer() -> Signer:
    return Signer.from_skey(generate_signer_key(ORIGIN)[0])


def _row(actor: str, subject: str, action: str, decision: str, at: datetime) -> IndexRow:
    return {
        "actor": actor,
        "subject_kind": "customer",
        "subject_id": subject,
        "action": action,
        "decision": decision,
        "time": at,
    }


def _guards(actor: str, now: datetime, new: tuple[str, ...], caps: tuple[int, int]) -> list[Guard]:
    return [
        Guard(
            "distinct",
            ("customer.view",),
            ("allow",),
            actor,
            "customer",
            None,
            now - span,
            cap,
            new,
        )
        for span, cap in zip((HOUR, DAY), caps, strict=True)
    ]


def _random_item(
    rng: random.Random, clock: datetime, n: int
) -> tuple[Item, list[IndexRow], list[Guard]]:
    actor = rng.choice(["A1", "A1", "A2"])
    subject = f"C{rng.randint(0, 12):02d}"
    # Times jump forward (old rows leave the windows) and sometimes arrive a little late.
    at = clock - timedelta(seconds=rng.randint(0, 90))
    action = rng.choice(["customer.view", "customer.view", "customer.search"])
    decision = rng.choice(["allow", "allow", "allow", "deny"])
    rows = [_row(actor, subject, action, decision, at)]
    guards: list[Guard] = []
    if action == "customer.view" and decision == "allow" and rng.random() < 0.8:
        guards = _guards(actor, at, (subject,), (rng.randint(1, 5), rng.randint(2, 9)))
    return Item(b'{"n":%d}' % n, rows, guards), rows, guards


@pytest.mark.parametrize("seed", range(5))
def test_guarded_appends_match_counting_by_hand(
    engine: Engine, signer: Signer, seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = random.Random(seed)
    monkeypatch.setattr(window_cache, "PRUNE_AT", rng.choice([2, 5, 4096]))
    accepted: list[IndexRow] = []
    clock, n = NOW, 0
    with Sequencer(engine, signer) as seq:
        for _ in range(40):
            clock += timedelta(minutes=rng.choice([1, 5, 20, 90, 600]))
            batch, expected = [], []
            pending = list(accepted)  # what each guard sees: earlier batches and this one
            for _ in range(rng.randint(1, 6)):
                item, rows, guards = _random_item(rng, clock, n)
                n += 1
                ok = all(holds_by_hand(pending, g) for g in guards)
                if ok:
                    pending += rows
                batch.append(item)
                expected.append(ok)
            results = seq.append_items(batch)
            assert [isinstance(r, Receipt) for r in results] == expected
            accepted = pending
            if rng.random() < 0.1:  # rows written behind its back, then a restart: seeds see them
                extra = _row("A1", f"C{rng.randint(0, 12):02d}", "customer.view", "allow", clock)
                _write_behind(engine, seq, extra)
                accepted.append(extra)
                seq.close()
                seq.open()


def _write_behind(engine: Engine, seq: Sequencer, row: IndexRow) -> None:
    with engine.begin() as conn:
        conn.execute(insert(LedgerAccessIndex), [{"idx": seq.size - 1, **row}])


def test_a_failed_batch_leaves_no_trace_in_memory(engine: Engine, signer: Signer) -> None:
    """Rows of a batch that rolled back must not count: the memory starts over."""
    with Sequencer(engine, signer) as seq:
        first = _guards("A1", NOW, ("C01",), (2, 2))
        assert isinstance(seq.append_items([Item(b"1", [_row_at("C01")], first)])[0], Receipt)
        with engine.begin() as conn:
            conn.execute(text("ALTER TABLE ledger_nodes RENAME TO ledger_nodes_away"))
        with pytest.raises(LedgerUnavailable):
            seq.append_items([Item(b"2", [_row_at("C02")], _guards("A1", NOW, ("C02",), (2, 2)))])
        with engine.begin() as conn:
            conn.execute(text("ALTER TABLE ledger_nodes_away RENAME TO ledger_nodes"))
        # C02 was never committed: C01 and C03 make two, within the cap; a fourth does not fit.
        three = _guards("A1", NOW, ("C03",), (2, 2))
        assert isinstance(seq.append_items([Item(b"3", [_row_at("C03")], three)])[0], Receipt)
        four = _guards("A1", NOW, ("C04",), (2, 2))
        assert not isinstance(seq.append_items([Item(b"4", [_row_at("C04")], four)])[0], Receipt)


def _row_at(subject: str) -> IndexRow:
    return _row("A1", subject, "customer.view", "allow", NOW - timedelta(minutes=1))


def test_a_window_on_one_subject_does_not_narrow_the_actors_window(
    engine: Engine, signer: Signer
) -> None:
    """A `distinct` guard naming one subject counts only that subject; the memory is kept per
    actor, so such a guard goes to SQL instead of seeding the actor's window with one subject."""
    with Sequencer(engine, signer) as seq:
        seq.append_items([Item(b"1", [_row_at("C1")]), Item(b"2", [_row_at("C2")])])
        seq.close()
        seq.open()  # the memory starts empty
        one = replace(_guards("A1", NOW, (), (5, 5))[1], subject_id="C1")  # the day
        assert isinstance(seq.append_items([Item(b"3", [], [one])])[0], Receipt)
        # C1 and C2 are in the hour already: a third customer exceeds a cap of two.
        third = _guards("A1", NOW, ("C3",), (2, 2))
        assert not isinstance(seq.append_items([Item(b"4", [_row_at("C3")], third)])[0], Receipt)
