"""Proof planning, one-read assembly and RFC 9162 verification."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custodes.ledger.errors import LedgerError, ProofError
from custodes.ledger.proof import (
    MemoryTree,
    NodeId,
    consistency_plan,
    consistency_proof,
    inclusion_plan,
    inclusion_proof,
    range_nodes,
    root_at,
    root_from_consistency_proof,
    root_from_inclusion_proof,
    verify_consistency,
    verify_inclusion,
)
from custodes.ledger.rfc6962 import EMPTY_ROOT, leaf_hash, root_from_leaf_hashes

h = bytes.fromhex


def reference_tree(vectors: dict[str, Any]) -> MemoryTree:
    return MemoryTree.from_entries(h(x) for x in vectors["reference_tree_8"]["leaf_inputs_hex"])


def numbered_tree(n: int) -> MemoryTree:
    return MemoryTree(leaf_hash(i.to_bytes(4, "big")) for i in range(n))


class CountingReader:
    """Wraps a tree's reader to record every batch it is asked for."""

    def __init__(self, tree: MemoryTree) -> None:
        self.tree = tree
        self.calls: list[list[NodeId]] = []

    def __call__(self, ids: list[NodeId]) -> dict[NodeId, bytes]:
        self.calls.append(list(ids))
        return self.tree.read(ids)


def flip(b: bytes, bit: int) -> bytes:
    out = bytearray(b)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


# --- published vectors -----------------------------------------------------------------


def test_reference_tree_nodes_and_roots(vectors: dict[str, Any]) -> None:
    tree = reference_tree(vectors)
    for level, hashes in enumerate(vectors["reference_tree_8"]["node_hashes_by_level"]["levels"]):
        for i, want in enumerate(hashes):
            assert tree.node(level, i).hex() == want
    for size, want in vectors["reference_tree_8"]["root_by_tree_size"].items():
        assert tree.root(int(size)).hex() == want


def test_inclusion_vectors(vectors: dict[str, Any]) -> None:
    tree = reference_tree(vectors)
    for v in vectors["inclusion_proofs"]["vectors"]:
        assert leaf_hash(h(v["leaf_input_hex"])).hex() == v["leaf_hash"]
        proof = tree.inclusion_proof(v["leaf_index"], v["tree_size"])
        assert [p.hex() for p in proof] == v["proof"], v
        verify_inclusion(v["leaf_index"], v["tree_size"], h(v["leaf_hash"]), proof, h(v["root"]))
        root = root_from_inclusion_proof(v["leaf_index"], v["tree_size"], h(v["leaf_hash"]), proof)
        assert root.hex() == v["root"]


def test_consistency_vectors(vectors: dict[str, Any]) -> None:
    tree = reference_tree(vectors)
    for v in vectors["consistency_proofs"]["vectors"]:
        proof = tree.consistency_proof(v["size1"], v["size2"])
        assert [p.hex() for p in proof] == v["proof"], v
        verify_consistency(v["size1"], v["size2"], proof, h(v["root1"]), h(v["root2"]))
        root2 = root_from_consistency_proof(v["size1"], v["size2"], proof, h(v["root1"]))
        assert root2.hex() == v["root2"]


def test_inclusion_probe(inclusion_probe: dict[str, Any]) -> None:
    p = inclusion_probe
    args = (p["leafIdx"], p["treeSize"], h(p["leafHash"]), [h(x) for x in p["proof"]], h(p["root"]))
    if p["wantErr"]:
        with pytest.raises(ProofError):
            verify_inclusion(*args)
    else:
        verify_inclusion(*args)


def test_consistency_probe(consistency_probe: dict[str, Any]) -> None:
    p = consistency_probe
    args = (p["size1"], p["size2"], [h(x) for x in p["proof"]], h(p["root1"]), h(p["root2"]))
    if p["wantErr"]:
        with pytest.raises(ProofError):
            verify_consistency(*args)
    else:
        verify_consistency(*args)


def test_subtree_probes_not_applicable(vectors: dict[str, Any]) -> None:
    n = len(vectors["probes"]["subtree_inclusion"]) + len(vectors["probes"]["subtree_consistency"])
    pytest.skip(
        f"{n} subtree probes skipped: draft-ietf-plants-merkle-tree-certs subtree proofs "
        "are optional and not implemented by custodes.ledger"
    )


# --- planning --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("begin", "end", "want"),
    [
        (0, 0, []),
        (0, 1, [(0, 0)]),
        (0, 7, [(2, 0), (1, 2), (0, 6)]),
        (0, 8, [(3, 0)]),
        (3, 8, [(0, 3), (2, 1)]),
        (5, 13, [(0, 5), (1, 3), (2, 2), (0, 12)]),
    ],
)
def test_range_nodes(begin: int, end: int, want: list[NodeId]) -> None:
    assert range_nodes(begin, end) == want


def test_inclusion_plan_shapes() -> None:
    assert inclusion_plan(0, 1) == []
    assert inclusion_plan(5, 8) == [[(0, 4)], [(1, 3)], [(2, 0)]]
    # The right-edge sibling of leaf 0 in a 7-leaf tree is incomplete: a fold of two nodes.
    assert inclusion_plan(0, 7) == [[(0, 1)], [(1, 1)], [(1, 2), (0, 6)]]
    assert inclusion_plan(6, 7) == [[(1, 2)], [(2, 0)]]


def test_consistency_plan_shapes() -> None:
    assert consistency_plan(3, 3) == []
    assert consistency_plan(4, 8) == [[(2, 1)]]
    assert consistency_plan(6, 8) == [[(1, 2)], [(1, 3)], [(2, 0)]]
    assert consistency_plan(2, 5) == [[(1, 1)], [(0, 4)]]


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: inclusion_plan(3, 3), "out of range"),
        (lambda: inclusion_plan(-1, 3), "out of range"),
        (lambda: inclusion_plan(0, 0), "out of range"),
        (lambda: consistency_plan(5, 4), "larger than"),
        (lambda: consistency_plan(0, 4), "empty tree"),
        (lambda: consistency_plan(0, 0), "empty tree"),
    ],
)
def test_plan_rejects_bad_sizes(call: Any, match: str) -> None:
    with pytest.raises(ProofError, match=match):
        call()


@settings(max_examples=80, deadline=None)
@given(st.data())
def test_plans_use_complete_contiguous_nodes(data: st.DataObject) -> None:
    n = data.draw(st.integers(1, 2000))
    i = data.draw(st.integers(0, n - 1))
    m = data.draw(st.integers(1, n))
    for plan, size in ((inclusion_plan(i, n), n), (consistency_plan(m, n), n)):
        for element in plan:
            assert element
            begin = element[0][1] << element[0][0]
            for level, index in element:
                assert index << level == begin, "nodes of an element must be contiguous"
                begin = (index + 1) << level
            assert begin <= size, "every node must be complete within the tree"


# --- one batched read -----------------------------------------------------------------


def test_proofs_read_storage_once_with_unique_ids() -> None:
    tree = numbered_tree(1000)
    for call in (
        lambda r: inclusion_proof(17, 999, r),
        lambda r: consistency_proof(37, 1000, r),
        lambda r: root_at(999, r),
    ):
        reader = CountingReader(tree)
        call(reader)
        assert len(reader.calls) == 1
        assert len(set(reader.calls[0])) == len(reader.calls[0])


def test_nothing_to_read_means_no_read() -> None:
    reader = CountingReader(numbered_tree(4))
    assert inclusion_proof(0, 1, reader) == []
    assert consistency_proof(4, 4, reader) == []
    assert root_at(0, reader) == EMPTY_ROOT
    assert reader.calls == []


def test_missing_node_from_reader() -> None:
    with pytest.raises(LedgerError, match="no hash for node"):
        inclusion_proof(0, 8, lambda ids: {})


def test_memory_tree_counts_reads_and_rejects_incomplete_nodes() -> None:
    tree = numbered_tree(5)
    tree.inclusion_proof(4)
    assert tree.reads == 1
    with pytest.raises(LedgerError, match="not a complete subtree"):
        tree.node(3, 0)
    with pytest.raises(LedgerError, match="out of range"):
        tree.root(6)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 300))
def test_root_at_every_size(n: int) -> None:
    tree = numbered_tree(n)
    leaves = [tree.node(0, i) for i in range(n)]
    assert tree.root() == root_from_leaf_hashes(leaves)
    for size in {0, n // 3, n // 2, n}:
        assert tree.root(size) == root_from_leaf_hashes(leaves[:size])


# --- verification errors ---------------------------------------------------------------


def test_verify_inclusion_messages() -> None:
    tree = numbered_tree(8)
    leaf, root = tree.node(0, 3), tree.root()
    proof = tree.inclusion_proof(3)
    with pytest.raises(ProofError, match="out of range"):
        verify_inclusion(8, 8, leaf, proof, root)
    with pytest.raises(ProofError, match="wrong proof length"):
        verify_inclusion(3, 8, leaf, proof[:-1], root)
    with pytest.raises(ProofError, match="leaf hash must be 32 bytes"):
        verify_inclusion(3, 8, leaf[:5], proof, root)
    with pytest.raises(ProofError, match="proof element 1 must be 32 bytes"):
        verify_inclusion(3, 8, leaf, [proof[0], b"x", proof[2]], root)
    with pytest.raises(ProofError, match="root mismatch"):
        verify_inclusion(3, 8, leaf, proof, EMPTY_ROOT)


def test_verify_consistency_messages() -> None:
    tree = numbered_tree(8)
    r5, r8 = tree.root(5), tree.root(8)
    proof = tree.consistency_proof(5, 8)
    verify_consistency(5, 8, proof, r5, r8)
    verify_consistency(5, 5, [], r5, r5)
    with pytest.raises(ProofError, match="larger than"):
        verify_consistency(8, 5, proof, r8, r5)
    with pytest.raises(ProofError, match="empty tree"):
        verify_consistency(0, 8, [], EMPTY_ROOT, r8)
    with pytest.raises(ProofError, match="proof is not empty"):
        verify_consistency(5, 5, proof, r5, r5)
    with pytest.raises(ProofError, match="roots differ"):
        verify_consistency(5, 5, [], r5, r8)
    with pytest.raises(ProofError, match="empty consistency proof"):
        verify_consistency(5, 8, [], r5, r8)
    with pytest.raises(ProofError, match="wrong proof length"):
        verify_consistency(5, 8, proof[:-1], r5, r8)
    with pytest.raises(ProofError, match="old root mismatch"):
        verify_consistency(5, 8, proof, r8, r8)
    with pytest.raises(ProofError, match="new root mismatch"):
        verify_consistency(5, 8, proof, r5, r5)


# --- properties ----------------------------------------------------------------------


@st.composite
def tree_params(draw: st.DrawFn) -> tuple[int, int, int]:
    n = draw(st.integers(1, 300))
    m = draw(st.integers(1, n))
    i = draw(st.integers(0, n - 1))
    return n, m, i


@settings(max_examples=150, deadline=None)
@given(tree_params(), st.data())
def test_inclusion_round_trip_and_any_bit_flip_fails(
    params: tuple[int, int, int], data: st.DataObject
) -> None:
    n, _, i = params
    tree = numbered_tree(n)
    leaf, root = tree.node(0, i), tree.root()
    proof = tree.inclusion_proof(i)
    verify_inclusion(i, n, leaf, proof, root)

    target = data.draw(st.integers(-2, len(proof) - 1), label="target")
    bit = data.draw(st.integers(0, 255), label="bit")
    if target == -2:
        leaf = flip(leaf, bit)
    elif target == -1:
        root = flip(root, bit)
    else:
        proof = [flip(p, bit) if k == target else p for k, p in enumerate(proof)]
    with pytest.raises(ProofError):
        verify_inclusion(i, n, leaf, proof, root)


@settings(max_examples=150, deadline=None)
@given(tree_params(), st.data())
def test_consistency_round_trip_and_any_bit_flip_fails(
    params: tuple[int, int, int], data: st.DataObject
) -> None:
    n, m, _ = params
    tree = numbered_tree(n)
    root1, root2 = tree.root(m), tree.root()
    proof = tree.consistency_proof(m)
    verify_consistency(m, n, proof, root1, root2)
    assert root_from_consistency_proof(m, n, proof, root1) == root2

    target = data.draw(st.integers(-2, len(proof) - 1), label="target")
    bit = data.draw(st.integers(0, 255), label="bit")
    if target == -2:
        root1 = flip(root1, bit)
    elif target == -1:
        root2 = flip(root2, bit)
    else:
        proof = [flip(p, bit) if k == target else p for k, p in enumerate(proof)]
    with pytest.raises(ProofError):
        verify_consistency(m, n, proof, root1, root2)


def test_every_bit_flip_fails_exhaustively_on_small_trees() -> None:
    """Each bit of the leaf, every proof hash and the root, for every leaf of trees up to 8."""
    for n in range(1, 9):
        tree = numbered_tree(n)
        root = tree.root()
        for i in range(n):
            leaf, proof = tree.node(0, i), tree.inclusion_proof(i)
            for bit in range(256):
                for bad in (
                    (flip(leaf, bit), proof, root),
                    (leaf, proof, flip(root, bit)),
                    *(
                        (leaf, [flip(p, bit) if k == j else p for k, p in enumerate(proof)], root)
                        for j in range(len(proof))
                    ),
                ):
                    with pytest.raises(ProofError):
                        verify_inclusion(i, n, *bad)
