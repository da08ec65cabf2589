"""An insider with write access to the database but not to the key folder tries to remove,
reorder, forge or roll back acknowledged entries. Each attempt is refused by the sequencer
(it signs only what it remembers signing) or caught by `verify` against trusted state."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, delete, insert, update

from custodes.ledger.compact import CompactRange
from custodes.ledger.errors import LedgerError
from custodes.ledger.export import export_log
from custodes.ledger.models import (
    LedgerCheckpoint,
    LedgerEntryRow,
    LedgerHead,
    LedgerNode,
    node_key,
)
from custodes.ledger.note import Signer, generate_signer_key
from custodes.ledger.rfc6962 import leaf_hash
from custodes.ledger.sequencer import GroupCommitter, LedgerUnavailable, Sequencer
from custodes.ledger.signer_state import SignerRefused, SignerState
from custodes.ledger.storage import LOG_ID, LedgerReader
from custodes.ledger.trust import Trusted, TrustStore
from custodes.ledger.verify import folder_fetcher, verify_log

ORIGIN = "custodes.test/attacks"


def _entry(i: int) -> bytes:
    return b'{"reveal":%d}' % i


@pytest.fixture
def signer() -> Signer:
    return Signer.from_skey(generate_signer_key(ORIGIN)[0])


@pytest.fixture
def keys(tmp_path: Path) -> Path:
    folder = tmp_path / "keys"
    folder.mkdir(mode=0o700)
    return folder


def _sequencer(engine: Engine, signer: Signer, keys: Path) -> Sequencer:
    return Sequencer(engine, signer, ORIGIN, SignerState(keys / "ledger.state", ORIGIN))


@pytest.fixture
def acknowledged(engine: Engine, signer: Signer, keys: Path) -> Iterator[Sequencer]:
    """44 acknowledged entries (every receipt names a signed checkpoint covering it)."""
    seq = _sequencer(engine, signer, keys).open()
    committer = GroupCommitter(seq)
    receipts = [committer.append(_entry(i)) for i in range(44)]
    committer.close()
    reader = LedgerReader(engine)
    latest = reader.latest_checkpoint()
    assert latest is not None and latest[0] == 44
    assert all(r.checkpoint_size > r.index for r in receipts)
    assert reader.checkpoint_sizes()[-1] == 44
    yield seq
    seq.close()


def _rewrite(conn: Connection, entries: list[bytes], checkpoints_above: int | None = None) -> None:
    """What a database writer can do: replace entries, nodes and head consistently."""
    conn.execute(delete(LedgerEntryRow))
    conn.execute(delete(LedgerNode))
    tree = CompactRange()
    for i, data in enumerate(entries):
        conn.execute(insert(LedgerEntryRow).values(idx=i, data=data))
        for level, index, digest in tree.append(leaf_hash(data)):
            conn.execute(insert(LedgerNode).values(node_key=node_key(level, index), hash=digest))
    conn.execute(
        update(LedgerHead)
        .where(LedgerHead.log_id == LOG_ID)
        .values(size=tree.size, root=tree.root())
    )
    if checkpoints_above is not None:
        conn.execute(delete(LedgerCheckpoint).where(LedgerCheckpoint.size > checkpoints_above))


ATTACKS: dict[str, Callable[[list[bytes]], list[bytes]]] = {
    "truncate the tail": lambda e: e[:20],
    "forge an extra entry": lambda e: [*e, b'{"actor":"E0003","revealed":"C000001"}'],
    "rewrite an entry": lambda e: [*e[:5], b'{"reveal":"nothing"}', *e[6:]],
    "reorder two entries": lambda e: [*e[:3], e[4], e[3], *e[5:]],
    "remove one in the middle": lambda e: e[:10] + e[11:],
}


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_the_running_sequencer_refuses_a_rewritten_log(
    engine: Engine, acknowledged: Sequencer, attack: str
) -> None:
    entries = LedgerReader(engine).entries(0, 44)
    with engine.begin() as conn:
        _rewrite(conn, ATTACKS[attack](entries), checkpoints_above=20)
    with pytest.raises(LedgerError):
        acknowledged.append_batch([_entry(99)])
    assert acknowledged.broken is not None
    # Refused for good: not a hiccup that the next request gets past.
    with pytest.raises(LedgerUnavailable):
        acknowledged.append_batch([_entry(100)])


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_a_restarted_sequencer_refuses_a_rewritten_log(
    engine: Engine, acknowledged: Sequencer, signer: Signer, keys: Path, attack: str
) -> None:
    acknowledged.close()
    entries = LedgerReader(engine).entries(0, 44)
    with engine.begin() as conn:
        _rewrite(conn, ATTACKS[attack](entries), checkpoints_above=20)
    with pytest.raises(SignerRefused):
        _sequencer(engine, signer, keys).open()
    latest = LedgerReader(engine).latest_checkpoint()
    assert latest is None or latest[0] <= 20  # nothing new was signed over the rewritten log


def test_rolling_back_the_head_alone_is_refused(
    engine: Engine, acknowledged: Sequencer, signer: Signer, keys: Path
) -> None:
    with engine.begin() as conn:
        conn.execute(delete(LedgerEntryRow).where(LedgerEntryRow.idx >= 30))
        tree = CompactRange()
        for data in LedgerReader(engine).entries(0, 30):
            tree.append(leaf_hash(data))
        conn.execute(update(LedgerHead).values(size=30, root=tree.root()))
        conn.execute(delete(LedgerCheckpoint).where(LedgerCheckpoint.size > 30))
    with pytest.raises(LedgerError, match="smaller"):
        acknowledged.append_batch([_entry(99)])


def test_verify_refuses_an_older_or_forked_log_than_it_trusted(
    engine: Engine, acknowledged: Sequencer, signer: Signer, tmp_path: Path
) -> None:
    store = TrustStore(tmp_path / "trust.json")
    export_log(LedgerReader(engine), tmp_path / "good")
    report = verify_log(folder_fetcher(tmp_path / "good"), signer.verifier())
    assert report.ok and report.size == 44
    store.remember(ORIGIN, signer.key_id, Trusted(report.size, report.root))
    trusted = store.get(ORIGIN, signer.key_id)
    assert trusted is not None

    # Truncated, with its checkpoints, back to an older signed state: still signed, not trusted.
    with engine.begin() as conn:
        conn.execute(delete(LedgerEntryRow).where(LedgerEntryRow.idx >= 29))
        conn.execute(delete(LedgerCheckpoint).where(LedgerCheckpoint.size > 29))
        conn.execute(delete(LedgerCheckpoint).where(LedgerCheckpoint.size < 29))
        tree = CompactRange()
        for data in LedgerReader(engine).entries(0, 29):
            tree.append(leaf_hash(data))
        conn.execute(update(LedgerHead).values(size=29, root=tree.root()))
    rolled = tmp_path / "rolled"
    export_log(LedgerReader(engine), rolled)
    alone = verify_log(folder_fetcher(rolled), signer.verifier())
    if alone.size == 29:
        assert alone.ok  # without memory, an old signed state looks fine: why trust state exists
    against = verify_log(folder_fetcher(rolled), signer.verifier(), trusted=[trusted])
    assert not against.ok and "rolled back" in (against.problem or "")
    # A state it has never seen, older than what it trusts, is refused: not an extension.
    forked = Trusted(trusted.size, bytes(32))
    report = verify_log(folder_fetcher(tmp_path / "good"), signer.verifier(), trusted=[forked])
    assert not report.ok and "forked" in (report.problem or "")
