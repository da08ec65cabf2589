"""Compact range (Merkle frontier) for appending to a log without re-reading it.

A tree of ``size`` leaves is summarised by the hashes of the perfect subtrees in the
binary decomposition of ``size`` (its *peaks*), largest first. That is all an
appender needs to keep: each append merges equal-sized peaks and reports every new
complete subtree, so storage can persist every node a proof may later need.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from custodes.ledger.errors import LedgerError
from custodes.ledger.rfc6962 import EMPTY_ROOT, HASH_SIZE, node_hash

NodeHash = tuple[int, int, bytes]
"""``(level, index, hash)`` of a complete subtree covering leaves
``[index * 2**level, (index + 1) * 2**level)``."""


def peak_levels(size: int) -> list[int]:
    """Levels of the perfect subtrees that make up a tree of ``size``, left to right."""
    return [lvl for lvl in range(size.bit_length() - 1, -1, -1) if (size >> lvl) & 1]


def _check_hash(h: bytes, what: str) -> None:
    if not isinstance(h, bytes) or len(h) != HASH_SIZE:
        raise LedgerError(f"{what} must be {HASH_SIZE} bytes, got {len(h)!r} bytes")


class CompactRange:
    """The frontier of a growing RFC 6962 tree, starting at leaf 0."""

    __slots__ = ("_peaks", "_size")

    def __init__(self) -> None:
        self._size = 0
        self._peaks: list[bytes] = []

    @classmethod
    def from_peaks(cls, size: int, peaks: Sequence[bytes]) -> CompactRange:
        """Restore a frontier saved with :meth:`peaks` (e.g. after a restart)."""
        if size < 0:
            raise LedgerError(f"tree size must be non-negative, got {size}")
        want = size.bit_count()
        if len(peaks) != want:
            raise LedgerError(f"a tree of size {size} has {want} peaks, got {len(peaks)}")
        for i, p in enumerate(peaks):
            _check_hash(p, f"peak {i}")
        cr = cls()
        cr._size = size
        cr._peaks = list(peaks)
        return cr

    @property
    def size(self) -> int:
        """Number of leaves appended so far."""
        return self._size

    def peaks(self) -> list[bytes]:
        """Hashes of the perfect subtrees in the decomposition of ``size``, left to right."""
        return list(self._peaks)

    def append(self, leaf_hash: bytes) -> list[NodeHash]:
        """Add one leaf; return every complete subtree the append created, bottom-up.

        The first triple is the leaf itself at level 0; each further one is a parent
        completed by this leaf.
        """
        _check_hash(leaf_hash, "leaf hash")
        index = self._size
        level = 0
        acc = leaf_hash
        created: list[NodeHash] = [(0, index, acc)]
        peaks = self._peaks
        while index & 1:
            acc = node_hash(peaks.pop(), acc)
            index >>= 1
            level += 1
            created.append((level, index, acc))
        peaks.append(acc)
        self._size += 1
        return created

    def extend(self, leaf_hashes: Iterable[bytes]) -> list[NodeHash]:
        """Append several leaves; return all created subtrees in creation order."""
        created: list[NodeHash] = []
        for h in leaf_hashes:
            created.extend(self.append(h))
        return created

    def root(self) -> bytes:
        """RFC 6962 root hash of the current tree (``EMPTY_ROOT`` when empty)."""
        if not self._peaks:
            return EMPTY_ROOT
        acc = self._peaks[-1]
        for h in reversed(self._peaks[:-1]):
            acc = node_hash(h, acc)
        return acc

    def __repr__(self) -> str:
        return f"CompactRange(size={self._size})"
