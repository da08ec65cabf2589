"""CompactRange: the append-only frontier, checked against the reference tree."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custodes.ledger.compact import CompactRange, peak_levels
from custodes.ledger.errors import LedgerError
from custodes.ledger.proof import MemoryTree
from custodes.ledger.rfc6962 import EMPTY_ROOT, leaf_hash, root_from_leaf_hashes

h = bytes.fromhex


def test_reference_tree_nodes_and_roots(vectors: dict[str, Any]) -> None:
    tree = vectors["reference_tree_8"]
    cr = CompactRange()
    assert cr.root().hex() == tree["root_by_tree_size"]["0"]
    created: dict[tuple[int, int], str] = {}
    for n, entry in enumerate(tree["leaf_inputs_hex"], start=1):
        for level, index, node in cr.append(leaf_hash(h(entry))):
            assert (level, index) not in created
            created[(level, index)] = node.hex()
        assert cr.size == n
        assert cr.root().hex() == tree["root_by_tree_size"][str(n)]
    want = {
        (level, i): x
        for level, hashes in enumerate(tree["node_hashes_by_level"]["levels"])
        for i, x in enumerate(hashes)
    }
    assert created == want


def test_append_reports_leaf_then_parents() -> None:
    cr = CompactRange()
    leaves = [leaf_hash(bytes([i])) for i in range(4)]
    assert [(lvl, i) for lvl, i, _ in cr.append(leaves[0])] == [(0, 0)]
    assert [(lvl, i) for lvl, i, _ in cr.append(leaves[1])] == [(0, 1), (1, 0)]
    assert [(lvl, i) for lvl, i, _ in cr.append(leaves[2])] == [(0, 2)]
    assert [(lvl, i) for lvl, i, _ in cr.append(leaves[3])] == [(0, 3), (1, 1), (2, 0)]


def test_empty_range() -> None:
    cr = CompactRange()
    assert cr.size == 0 and cr.peaks() == [] and cr.root() == EMPTY_ROOT
    assert CompactRange.from_peaks(0, []).root() == EMPTY_ROOT


def test_peak_levels() -> None:
    assert peak_levels(0) == []
    assert peak_levels(13) == [3, 2, 0]


def test_from_peaks_validates() -> None:
    good = leaf_hash(b"x")
    with pytest.raises(LedgerError, match="has 2 peaks, got 1"):
        CompactRange.from_peaks(3, [good])
    with pytest.raises(LedgerError, match="32 bytes"):
        CompactRange.from_peaks(1, [b"short"])
    with pytest.raises(LedgerError, match="non-negative"):
        CompactRange.from_peaks(-1, [])
    with pytest.raises(LedgerError, match="32 bytes"):
        CompactRange().append(b"short")


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 300), st.data())
def test_every_prefix_root_and_restart(n: int, data: st.DataObject) -> None:
    leaves = [leaf_hash(i.to_bytes(4, "big")) for i in range(n)]
    restart_at = data.draw(st.integers(0, n), label="restart_at")
    tree = MemoryTree()
    cr = CompactRange()
    created = 0
    for k, leaf in enumerate(leaves):
        if k == restart_at:
            cr = CompactRange.from_peaks(cr.size, cr.peaks())
        tree.append(leaf)
        for level, index, node in cr.append(leaf):
            assert tree.node(level, index) == node
            created += 1
        assert cr.root() == root_from_leaf_hashes(leaves[: k + 1])
        assert len(cr.peaks()) == cr.size.bit_count()
    # A tree of n leaves has 2n - popcount(n) complete subtrees.
    assert created == 2 * n - n.bit_count()


def test_extend_matches_appends() -> None:
    leaves = [leaf_hash(bytes([i])) for i in range(11)]
    a, b = CompactRange(), CompactRange()
    nodes = a.extend(leaves)
    assert nodes == [x for leaf in leaves for x in b.append(leaf)]
    assert a.root() == b.root() == root_from_leaf_hashes(leaves)
