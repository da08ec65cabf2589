"""RFC 6962 hashing against the transparency-dev/merkle vectors and a reference MTH."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custodes.ledger.rfc6962 import (
    EMPTY_ROOT,
    fold_right,
    largest_power_of_two_below,
    leaf_hash,
    node_hash,
    root_from_entries,
    root_from_leaf_hashes,
)

h = bytes.fromhex


def mth(leaves: list[bytes]) -> bytes:
    """RFC 6962 section 2.1 Merkle Tree Hash, written straight from the definition."""
    n = len(leaves)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashlib.sha256(b"\x00" + leaves[0]).digest()
    k = 1
    while k * 2 < n:
        k *= 2
    return hashlib.sha256(b"\x01" + mth(leaves[:k]) + mth(leaves[k:])).digest()


def test_hasher_vectors(vectors: dict[str, Any]) -> None:
    for v in vectors["rfc6962_hasher"]["vectors"]:
        if v["kind"] == "empty_root":
            got = EMPTY_ROOT
            assert root_from_leaf_hashes([]) == EMPTY_ROOT
        elif v["kind"] == "leaf":
            got = leaf_hash(h(v["input_hex"]))
        elif v["kind"] == "node":
            got = node_hash(h(v["left_hex"]), h(v["right_hex"]))
        else:
            pytest.fail(f"unknown hasher vector kind {v['kind']!r}")
        assert got.hex() == v["want"], v["desc"]


def test_reference_tree_every_node(vectors: dict[str, Any]) -> None:
    tree = vectors["reference_tree_8"]
    entries = [h(x) for x in tree["leaf_inputs_hex"]]
    leaves = [leaf_hash(e) for e in entries]
    levels = tree["node_hashes_by_level"]["levels"]
    assert [x.hex() for x in leaves] == levels[0]
    for level, hashes in enumerate(levels):
        for i, want in enumerate(hashes):
            span = leaves[i << level : (i + 1) << level]
            assert root_from_leaf_hashes(span).hex() == want, (level, i)


def test_reference_tree_every_root(vectors: dict[str, Any]) -> None:
    tree = vectors["reference_tree_8"]
    entries = [h(x) for x in tree["leaf_inputs_hex"]]
    leaves = [leaf_hash(e) for e in entries]
    assert len(tree["root_by_tree_size"]) == 9
    for size, want in tree["root_by_tree_size"].items():
        n = int(size)
        assert root_from_leaf_hashes(leaves[:n]).hex() == want, n
        assert root_from_entries(entries[:n]).hex() == want, n
        assert mth(entries[:n]).hex() == want, n


@pytest.mark.parametrize(("n", "k"), [(2, 1), (3, 2), (4, 2), (5, 4), (8, 4), (9, 8), (1025, 1024)])
def test_largest_power_of_two_below(n: int, k: int) -> None:
    assert largest_power_of_two_below(n) == k


def test_largest_power_of_two_below_rejects_small() -> None:
    with pytest.raises(ValueError, match="n >= 2"):
        largest_power_of_two_below(1)


def test_fold_right() -> None:
    a, b, c = (leaf_hash(bytes([i])) for i in range(3))
    assert fold_right([a]) == a
    assert fold_right([a, b, c]) == node_hash(a, node_hash(b, c))
    with pytest.raises(ValueError):
        fold_right([])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.binary(max_size=8), max_size=300))
def test_root_matches_reference_mth(entries: list[bytes]) -> None:
    assert root_from_entries(entries) == mth(entries)
    assert root_from_leaf_hashes([leaf_hash(e) for e in entries]) == mth(entries)
