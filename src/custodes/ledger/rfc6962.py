"""RFC 6962 / RFC 9162 Merkle tree hashing (SHA-256).

Leaves and interior nodes are hashed with different one-byte prefixes so that a
leaf can never be passed off as a node (second-preimage resistance).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

HASH_SIZE = 32
"""Size in bytes of every tree hash."""

LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"

EMPTY_ROOT = hashlib.sha256(b"").digest()
"""Root hash of the empty tree: SHA-256 of the empty string."""


def leaf_hash(data: bytes) -> bytes:
    """Hash a log entry: SHA-256(0x00 || data)."""
    return hashlib.sha256(LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Hash two child hashes into their parent: SHA-256(0x01 || left || right)."""
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def largest_power_of_two_below(n: int) -> int:
    """Return the largest power of two strictly less than ``n`` (the RFC 6962 split ``k``)."""
    if n < 2:
        raise ValueError(f"largest_power_of_two_below needs n >= 2, got {n}")
    return 1 << ((n - 1).bit_length() - 1)


def fold_right(hashes: Sequence[bytes]) -> bytes:
    """Combine the perfect subtrees of a range (left to right) into the range's hash.

    Subtrees are merged right to left, which is how RFC 6962 hashes a tree whose
    size is not a power of two.
    """
    if not hashes:
        raise ValueError("fold_right needs at least one hash")
    acc = hashes[-1]
    for h in reversed(hashes[:-1]):
        acc = node_hash(h, acc)
    return acc


def _next_level(level: Sequence[bytes]) -> list[bytes]:
    # Local bindings and zip-pairing keep this loop close to raw hashlib speed.
    sha = hashlib.sha256
    prefix = NODE_PREFIX
    it = iter(level)
    out = [sha(prefix + a + b).digest() for a, b in zip(it, it, strict=False)]
    if len(level) & 1:
        out.append(level[-1])  # A node without a right sibling is promoted unchanged.
    return out


def root_from_leaf_hashes(hashes: Sequence[bytes]) -> bytes:
    """Return the RFC 6962 root of a tree with these leaf hashes (``EMPTY_ROOT`` if none).

    Works level by level: pairing neighbours and promoting an odd last node gives the
    same tree as the recursive definition, without recursion overhead.
    """
    if not hashes:
        return EMPTY_ROOT
    level: Sequence[bytes] = hashes
    while len(level) > 1:
        level = _next_level(level)
    return level[0]


def root_from_entries(entries: Sequence[bytes]) -> bytes:
    """Return the RFC 6962 root of a tree with these raw entries."""
    sha = hashlib.sha256
    prefix = LEAF_PREFIX
    return root_from_leaf_hashes([sha(prefix + e).digest() for e in entries])
