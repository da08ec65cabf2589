"""RFC 9162 inclusion and consistency proofs: planning, assembly and verification.

Proofs are built from *complete* subtree hashes only, because those never change
once written and a storage layer can persist them as the log grows (see
:mod:`custodes.ledger.compact`). A proof element that covers an incomplete
right-edge subtree is the right-to-left fold of the complete subtrees in its
decomposition. Planning is pure; assembly asks the storage for all the nodes it
needs in one batched read; verification follows RFC 9162 and mirrors the checks
of transparency-dev/merkle's ``proof`` package.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

from custodes.ledger.errors import LedgerError, ProofError
from custodes.ledger.rfc6962 import EMPTY_ROOT, HASH_SIZE, fold_right, leaf_hash, node_hash

NodeId = tuple[int, int]
"""``(level, index)`` of a complete subtree covering leaves
``[index * 2**level, (index + 1) * 2**level)``."""

NodeReader = Callable[[list[NodeId]], Mapping[NodeId, bytes]]
"""Batch lookup of complete-subtree hashes, e.g. one ``SELECT ... WHERE (level, idx) IN``."""

Plan = list[list[NodeId]]
"""For each proof element (bottom-up), the complete nodes whose fold forms it."""

# A step on the path from a node up to the root: the sibling's leaf range and
# whether that sibling lies to the left.
_Step = tuple[int, int, bool]


def _trailing_zeros(n: int) -> int:
    return (n & -n).bit_length() - 1


def range_nodes(begin: int, end: int) -> list[NodeId]:
    """Complete subtrees exactly covering leaves ``[begin, end)``, left to right.

    Greedily takes the largest aligned subtree that starts at ``begin`` and fits,
    which yields the canonical (minimal) decomposition.
    """
    if not 0 <= begin <= end:
        raise ValueError(f"invalid leaf range [{begin}, {end})")
    nodes: list[NodeId] = []
    while begin < end:
        level = (end - begin).bit_length() - 1
        if begin:
            level = min(level, _trailing_zeros(begin))
        nodes.append((level, begin >> level))
        begin += 1 << level
    return nodes


def _path_steps(level: int, index: int, size: int) -> list[_Step]:
    """Siblings met walking from complete node (level, index) to the root of ``size``.

    A node whose sibling lies entirely beyond ``size`` is promoted unchanged (RFC
    6962's unbalanced right edge), so such levels contribute no proof element.
    """
    steps: list[_Step] = []
    while index or (1 << level) < size:
        sibling_begin = (index ^ 1) << level
        if sibling_begin < size:
            steps.append((sibling_begin, min(sibling_begin + (1 << level), size), bool(index & 1)))
        index >>= 1
        level += 1
    return steps


def inclusion_plan(index: int, size: int) -> Plan:
    """Nodes forming each element of the inclusion proof of leaf ``index`` in ``size``."""
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is out of range for tree size {size}")
    return [range_nodes(b, e) for b, e, _ in _path_steps(0, index, size)]


def consistency_plan(size1: int, size2: int) -> Plan:
    """Nodes forming each element of the consistency proof from ``size1`` to ``size2``.

    The proof is the inclusion proof of the last complete subtree of the old tree,
    preceded by that subtree itself unless it is the whole old tree (``size1`` a power
    of two), which the verifier already knows as ``root1``.
    """
    _check_sizes(size1, size2)
    if size1 == size2:
        return []
    level = _trailing_zeros(size1)
    index = (size1 - 1) >> level
    plan: Plan = [] if index == 0 else [[(level, index)]]
    plan.extend(range_nodes(b, e) for b, e, _ in _path_steps(level, index, size2))
    return plan


def _read_nodes(ids: Iterable[NodeId], read: NodeReader) -> dict[NodeId, bytes]:
    """Fetch the distinct ``ids`` with a single call to ``read`` (none if nothing needed)."""
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        return {}
    got = read(wanted)
    out: dict[NodeId, bytes] = {}
    for node in wanted:
        h = got.get(node)
        if h is None:
            raise LedgerError(f"node reader returned no hash for node (level, index) {node}")
        out[node] = h
    return out


def assemble(plan: Plan, read: NodeReader) -> list[bytes]:
    """Turn a plan into proof hashes using one batched ``read``."""
    hashes = _read_nodes((n for element in plan for n in element), read)
    return [fold_right([hashes[n] for n in element]) for element in plan]


def inclusion_proof(index: int, size: int, read: NodeReader) -> list[bytes]:
    """RFC 9162 inclusion proof (audit path) for leaf ``index`` in a tree of ``size``."""
    return assemble(inclusion_plan(index, size), read)


def consistency_proof(size1: int, size2: int, read: NodeReader) -> list[bytes]:
    """RFC 9162 consistency proof between tree sizes ``size1 <= size2``."""
    return assemble(consistency_plan(size1, size2), read)


def root_at(size: int, read: NodeReader) -> bytes:
    """Root hash of the tree's first ``size`` leaves, from complete nodes (one read)."""
    if size < 0:
        raise ValueError(f"tree size must be non-negative, got {size}")
    if size == 0:
        return EMPTY_ROOT
    return assemble([range_nodes(0, size)], read)[0]


# --- verification -----------------------------------------------------------------


def _check_hashes(leaf: bytes | None, proof: Sequence[bytes]) -> None:
    if leaf is not None and len(leaf) != HASH_SIZE:
        raise ProofError(f"leaf hash must be {HASH_SIZE} bytes, got {len(leaf)}")
    for i, h in enumerate(proof):
        if len(h) != HASH_SIZE:
            raise ProofError(f"proof element {i} must be {HASH_SIZE} bytes, got {len(h)}")


def _check_length(proof: Sequence[bytes], want: int) -> None:
    if len(proof) != want:
        raise ProofError(f"wrong proof length: got {len(proof)} hashes, want {want}")


def _chain(steps: Sequence[_Step], seed: bytes, path: Sequence[bytes]) -> bytes:
    for (_, _, sibling_is_left), h in zip(steps, path, strict=True):
        seed = node_hash(h, seed) if sibling_is_left else node_hash(seed, h)
    return seed


def _mismatch(what: str, size: int, computed: bytes, expected: bytes) -> ProofError:
    return ProofError(
        f"{what} root mismatch at tree size {size}: "
        f"computed {computed.hex()}, expected {expected.hex()}"
    )


def root_from_inclusion_proof(
    index: int, size: int, leaf_hash: bytes, proof: Sequence[bytes]
) -> bytes:
    """Root implied by an inclusion proof of ``leaf_hash`` at ``index`` in ``size``."""
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is out of range for tree size {size}")
    _check_hashes(leaf_hash, proof)
    steps = _path_steps(0, index, size)
    _check_length(proof, len(steps))
    return _chain(steps, leaf_hash, proof)


def verify_inclusion(
    index: int, size: int, leaf_hash: bytes, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that ``leaf_hash`` is leaf ``index`` of the tree of ``size`` with ``root``.

    Raises :class:`ProofError` explaining the first problem found.
    """
    computed = root_from_inclusion_proof(index, size, leaf_hash, proof)
    if computed != root:
        raise _mismatch("inclusion proof", size, computed, root)


def _check_sizes(size1: int, size2: int) -> None:
    """Sizes a consistency proof can exist for (planning it or checking one)."""
    if size1 < 0 or size2 < 0:
        raise ProofError(f"tree sizes must be non-negative, got {size1} and {size2}")
    if size1 > size2:
        raise ProofError(f"old tree size {size1} is larger than new tree size {size2}")
    if size1 == 0:
        # Every tree extends the empty one, so such a proof would prove nothing;
        # transparency-dev/merkle rejects it too.
        raise ProofError("a consistency proof from the empty tree is meaningless")


def root_from_consistency_proof(
    size1: int, size2: int, proof: Sequence[bytes], root1: bytes
) -> bytes:
    """Check ``proof`` against ``root1`` and return the ``size2`` root it implies."""
    _check_sizes(size1, size2)
    if size1 == size2:
        if proof:
            raise ProofError(f"tree sizes are equal ({size1}) but the proof is not empty")
        return root1
    if not proof:
        raise ProofError(f"empty consistency proof between different sizes {size1} and {size2}")
    _check_hashes(None, proof)

    level = _trailing_zeros(size1)
    index = (size1 - 1) >> level
    steps = _path_steps(level, index, size2)
    if index == 0:  # size1 is a power of two: the old root is the seed subtree.
        seed, path = root1, proof
    else:
        seed, path = proof[0], proof[1:]
        _check_length(proof, len(steps) + 1)
    _check_length(path, len(steps))

    # Left siblings rebuild the old tree; all siblings rebuild the new one.
    hash1 = seed
    for (_, _, sibling_is_left), h in zip(steps, path, strict=True):
        if sibling_is_left:
            hash1 = node_hash(h, hash1)
    if hash1 != root1:
        raise _mismatch("consistency proof old", size1, hash1, root1)
    return _chain(steps, seed, path)


def verify_consistency(
    size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes
) -> None:
    """Check that the tree of ``size2`` with ``root2`` extends the one of ``size1``/``root1``.

    Raises :class:`ProofError` explaining the first problem found.
    """
    computed = root_from_consistency_proof(size1, size2, proof, root1)
    if computed != root2:
        if size1 == size2:
            raise ProofError(
                f"tree sizes are equal ({size1}) but the roots differ: "
                f"{root1.hex()} != {root2.hex()}"
            )
        raise _mismatch("consistency proof new", size2, computed, root2)


# --- in-memory tree -----------------------------------------------------------------


class MemoryTree:
    """An in-memory log that stores every complete subtree hash.

    It is itself a :data:`NodeReader`, so tests and tools can exercise exactly the
    code path a database-backed log uses.
    """

    __slots__ = ("_levels", "reads")

    def __init__(self, leaf_hashes: Iterable[bytes] = ()) -> None:
        self._levels: list[list[bytes]] = [[]]
        self.reads = 0
        """Number of batched reads served (tests check proofs use exactly one)."""
        for h in leaf_hashes:
            self.append(h)

    @classmethod
    def from_entries(cls, entries: Iterable[bytes]) -> MemoryTree:
        """Build a tree whose leaves are the RFC 6962 hashes of ``entries``."""
        return cls(leaf_hash(e) for e in entries)

    @property
    def size(self) -> int:
        """Number of leaves."""
        return len(self._levels[0])

    def append(self, leaf_hash: bytes) -> int:
        """Add a leaf hash, completing any parents; return the leaf's index."""
        if len(leaf_hash) != HASH_SIZE:
            raise LedgerError(f"leaf hash must be {HASH_SIZE} bytes, got {len(leaf_hash)}")
        levels = self._levels
        index = len(levels[0])
        levels[0].append(leaf_hash)
        level, i = 0, index
        while i & 1:
            parent = node_hash(levels[level][i - 1], levels[level][i])
            level += 1
            i >>= 1
            if len(levels) == level:
                levels.append([])
            levels[level].append(parent)
        return index

    def node(self, level: int, index: int) -> bytes:
        """Hash of the complete subtree ``(level, index)``."""
        try:
            if level < 0 or index < 0:
                raise IndexError
            return self._levels[level][index]
        except IndexError:
            raise LedgerError(
                f"node (level {level}, index {index}) is not a complete subtree "
                f"of this tree of size {self.size}"
            ) from None

    def read(self, ids: list[NodeId]) -> dict[NodeId, bytes]:
        """:data:`NodeReader` interface."""
        self.reads += 1
        return {(lvl, i): self.node(lvl, i) for lvl, i in ids}

    __call__ = read

    def _size(self, size: int | None) -> int:
        if size is None:
            return self.size
        if not 0 <= size <= self.size:
            raise LedgerError(f"tree size {size} is out of range for a tree of {self.size}")
        return size

    def root(self, size: int | None = None) -> bytes:
        """Root hash at ``size`` (default: current size)."""
        return root_at(self._size(size), self.read)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """Inclusion proof for leaf ``index`` at ``size`` (default: current size)."""
        return inclusion_proof(index, self._size(size), self.read)

    def consistency_proof(self, size1: int, size2: int | None = None) -> list[bytes]:
        """Consistency proof from ``size1`` to ``size2`` (default: current size)."""
        return consistency_proof(size1, self._size(size2), self.read)
