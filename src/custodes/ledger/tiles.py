"""Tiled transparency logs (c2sp.org/tlog-tiles): tile paths, tile contents, entry bundles.

A tile at tile level ``L`` and index ``N`` holds up to 256 consecutive complete
subtree hashes at tree level ``8 * L``; the rightmost tiles of a tree may be
*partial* (width 1..255). Paths are immutable static resources, so the encoding
is strict: every tile has exactly one path and every path one tile.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import NamedTuple

from custodes.ledger.errors import FormatError
from custodes.ledger.proof import NodeId

TILE_HEIGHT = 8
TILE_WIDTH = 1 << TILE_HEIGHT  # 256 hashes per full tile
MAX_TILE_LEVEL = 63
MAX_ENTRY_SIZE = 0xFFFF

_LEVEL = re.compile(r"0|[1-9][0-9]?")
_WIDTH = re.compile(r"[1-9][0-9]{0,2}")
_ELEM = re.compile(r"[0-9]{3}")


class TileRef(NamedTuple):
    """A hash tile (``is_entries=False``) or an entry bundle (``is_entries=True``, level 0)."""

    level: int
    index: int  # type: ignore[assignment]  # a field named like tuple.index, on purpose
    width: int = TILE_WIDTH
    is_entries: bool = False

    @property
    def path(self) -> str:
        """The resource path relative to the log prefix."""
        if self.is_entries:
            return entries_path(self.index, self.width)
        return tile_path(self.level, self.index, self.width)


def _check(index: int, width: int) -> None:
    if index < 0:
        raise FormatError(f"tile index must be non-negative, got {index}")
    if not 1 <= width <= TILE_WIDTH:
        raise FormatError(f"tile width must be 1..{TILE_WIDTH}, got {width}")


def encode_index(index: int) -> str:
    """Encode a tile index as 3-digit path elements, all but the last prefixed with 'x'."""
    if index < 0:
        raise FormatError(f"tile index must be non-negative, got {index}")
    groups = [f"{index % 1000:03d}"]
    index //= 1000
    while index:
        groups.append(f"x{index % 1000:03d}")
        index //= 1000
    return "/".join(reversed(groups))


def _suffix(width: int) -> str:
    return "" if width == TILE_WIDTH else f".p/{width}"


def tile_path(level: int, index: int, width: int = TILE_WIDTH) -> str:
    """``tile/<L>/<N>[.p/<W>]`` for a hash tile."""
    if not 0 <= level <= MAX_TILE_LEVEL:
        raise FormatError(f"tile level must be 0..{MAX_TILE_LEVEL}, got {level}")
    _check(index, width)
    return f"tile/{level}/{encode_index(index)}{_suffix(width)}"


def entries_path(index: int, width: int = TILE_WIDTH) -> str:
    """``tile/entries/<N>[.p/<W>]`` for an entry bundle."""
    _check(index, width)
    return f"tile/entries/{encode_index(index)}{_suffix(width)}"


def _parse_index(elems: Sequence[str], path: str) -> int:
    if not elems:
        raise FormatError(f"tile path {path!r} has no index")
    *upper, last = elems
    if not _ELEM.fullmatch(last) or not all(e[:1] == "x" and _ELEM.fullmatch(e[1:]) for e in upper):
        raise FormatError(
            f"tile path {path!r}: index must be 3-digit groups, all but the last prefixed 'x'"
        )
    if upper and upper[0] == "x000":
        raise FormatError(f"tile path {path!r}: index has a redundant leading x000 group")
    index = 0
    for e in (*(u[1:] for u in upper), last):
        index = index * 1000 + int(e)
    return index


def parse_tile_path(path: str) -> TileRef:
    """Strict inverse of :func:`tile_path` and :func:`entries_path`."""
    parts = path.split("/")
    if len(parts) < 3 or parts[0] != "tile":
        raise FormatError(f"{path!r} is not a tile path: want tile/<L>/<N>[.p/<W>]")
    width = TILE_WIDTH
    if len(parts) >= 4 and parts[-2].endswith(".p"):
        if not _WIDTH.fullmatch(parts[-1]) or int(parts[-1]) >= TILE_WIDTH:
            raise FormatError(f"tile path {path!r}: partial width must be 1..255")
        width = int(parts[-1])
        parts = [*parts[:-2], parts[-2][: -len(".p")]]
    kind, elems = parts[1], parts[2:]
    index = _parse_index(elems, path)
    if kind == "entries":
        return TileRef(0, index, width, is_entries=True)
    if not _LEVEL.fullmatch(kind) or int(kind) > MAX_TILE_LEVEL:
        raise FormatError(f"tile path {path!r}: level must be 0..{MAX_TILE_LEVEL}")
    return TileRef(int(kind), index, width)


def _tiles_at(level: int, count: int, entries: bool) -> Iterator[TileRef]:
    full, partial = divmod(count, TILE_WIDTH)
    for n in range(full):
        yield TileRef(level, n, TILE_WIDTH, entries)
    if partial:
        yield TileRef(level, full, partial, entries)


def tiles_for_size(size: int) -> list[TileRef]:
    """Every hash tile and entry bundle that exists for a tree of ``size`` leaves.

    At tile level ``L`` there are ``size >> 8L`` complete nodes; they fill
    ``count // 256`` full tiles and one partial tile of width ``count % 256``.
    """
    if size < 0:
        raise FormatError(f"tree size must be non-negative, got {size}")
    out = list(_tiles_at(0, size, True))
    level = 0
    while count := size >> (TILE_HEIGHT * level):
        out.extend(_tiles_at(level, count, False))
        level += 1
    return out


def tile_node_ids(level: int, index: int, width: int = TILE_WIDTH) -> list[NodeId]:
    """Tree nodes ``(8 * level, index * 256 + i)`` for ``i < width`` held by a hash tile."""
    _check(index, width)
    if not 0 <= level <= MAX_TILE_LEVEL:
        raise FormatError(f"tile level must be 0..{MAX_TILE_LEVEL}, got {level}")
    start = index * TILE_WIDTH
    return [(TILE_HEIGHT * level, start + i) for i in range(width)]


def encode_entry_bundle(entries: Sequence[bytes]) -> bytes:
    """Concatenate entries, each prefixed by its length as a big-endian uint16."""
    if len(entries) > TILE_WIDTH:
        raise FormatError(f"an entry bundle holds at most {TILE_WIDTH} entries, got {len(entries)}")
    parts: list[bytes] = []
    for i, e in enumerate(entries):
        if len(e) > MAX_ENTRY_SIZE:
            raise FormatError(f"entry {i} is {len(e)} bytes; entries must be under 65536 bytes")
        parts.append(len(e).to_bytes(2, "big"))
        parts.append(bytes(e))
    return b"".join(parts)


def decode_entry_bundle(data: bytes, width: int | None = None) -> list[bytes]:
    """Split an entry bundle; if ``width`` is given the bundle must hold exactly that many."""
    entries: list[bytes] = []
    pos, end = 0, len(data)
    while pos < end:
        if end - pos < 2:
            raise FormatError(f"entry bundle truncated in the length prefix at byte {pos}")
        n = int.from_bytes(data[pos : pos + 2], "big")
        pos += 2
        if end - pos < n:
            raise FormatError(f"entry bundle truncated: entry {len(entries)} needs {n} bytes")
        entries.append(bytes(data[pos : pos + n]))
        pos += n
        if len(entries) > TILE_WIDTH:
            raise FormatError(f"entry bundle holds more than {TILE_WIDTH} entries")
    if width is not None and len(entries) != width:
        raise FormatError(f"entry bundle holds {len(entries)} entries, expected {width}")
    return entries
