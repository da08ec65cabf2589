"""Tile paths, tile contents and entry bundles (c2sp.org/tlog-tiles)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custodes.ledger.errors import FormatError
from custodes.ledger.proof import MemoryTree
from custodes.ledger.rfc6962 import leaf_hash, root_from_leaf_hashes
from custodes.ledger.tiles import (
    TileRef,
    decode_entry_bundle,
    encode_entry_bundle,
    encode_index,
    entries_path,
    parse_tile_path,
    tile_node_ids,
    tile_path,
    tiles_for_size,
)


def test_c2sp_index_encoding(vectors: dict[str, Any]) -> None:
    for index, want in vectors["tile_paths"]["c2sp_tlog_tiles_examples"]["index_encoding"].items():
        assert encode_index(int(index)) == want
        assert tile_path(0, int(index)) == f"tile/0/{want}"
        assert parse_tile_path(f"tile/0/{want}") == TileRef(0, int(index))


def _summary(size: int) -> dict[int, tuple[int, int]]:
    """Per level: (full tiles, partial width) among the hash tiles of a tree."""
    out: dict[int, tuple[int, int]] = {}
    for t in tiles_for_size(size):
        if t.is_entries:
            continue
        full, partial = out.get(t.level, (0, 0))
        out[t.level] = (full + 1, partial) if t.width == 256 else (full, t.width)
    return out


def test_c2sp_tree_examples(vectors: dict[str, Any]) -> None:
    ex = vectors["tile_paths"]["c2sp_tlog_tiles_examples"]
    t70 = ex["tree_70000"]
    assert _summary(70000) == {
        0: (t70["full_level0_tiles"], t70["partial_level0_width"]),
        1: (t70["full_level1_tiles"], t70["partial_level1_width"]),
        2: (0, t70["partial_level2_width"]),
    }
    t256 = ex["tree_256"]
    assert _summary(256) == {
        0: (t256["full_level0_tiles"], 0),
        1: (0, t256["partial_level1_width"]),
    }
    bundles = [t for t in tiles_for_size(70000) if t.is_entries]
    assert len(bundles) == 274 and bundles[-1] == TileRef(0, 273, 112, is_entries=True)
    assert bundles[-1].path == "tile/entries/273.p/112"
    assert tiles_for_size(0) == []


def test_golang_sumdb_paths_where_they_apply(vectors: dict[str, Any]) -> None:
    """Go sumdb paths carry a tile height; drop it and compare index and partial width."""
    for v in vectors["tile_paths"]["golang_mod_sumdb_tlog"]["vectors"]:
        _, _height, level, *rest = v["path"].split("/")
        c2sp = "/".join(["tile", "entries" if level == "data" else level, *rest])
        if v["tile_H_L_N_W"] is None:
            with pytest.raises(FormatError):
                parse_tile_path(c2sp)
            continue
        height, lvl, index, width = v["tile_H_L_N_W"]
        want_width = 256 if width == 1 << height else width  # a full Go tile is 2^H wide
        got = parse_tile_path(c2sp)
        assert got == TileRef(max(lvl, 0), index, want_width, is_entries=lvl == -1)
        assert got.path == c2sp


@pytest.mark.parametrize(
    ("args", "want"),
    [
        ((0, 0), "tile/0/000"),
        ((1, 5, 17), "tile/1/005.p/17"),
        ((2, 1000), "tile/2/x001/000"),
        ((63, 999, 255), "tile/63/999.p/255"),
    ],
)
def test_tile_path(args: tuple[int, ...], want: str) -> None:
    assert tile_path(*args) == want
    level, index, *width = args
    assert parse_tile_path(want) == TileRef(level, index, *width)


def test_entries_path() -> None:
    assert entries_path(1234067) == "tile/entries/x001/x234/067"
    assert entries_path(0, 3) == "tile/entries/000.p/3"


@pytest.mark.parametrize(
    "path",
    [
        "tile/00/000",
        "tile/64/000",
        "tile/-1/000",
        "tile/data/000",
        "tile/0/1",
        "tile/0/0001",
        "tile/0/x001",
        "tile/0/001/002",
        "tile/0/X001/002",
        "tile/0/x000/001",
        "tile/0/001/",
        "tile/0/",
        "tile/0",
        "tiles/0/000",
        "/tile/0/000",
        "tile/0/001.p/0",
        "tile/0/001.p/256",
        "tile/0/001.p/05",
        "tile/0/001.p/",
        "tile/0/001.p",
        "tile/entries/000.p/256",
        "tile/entries",
        "tile/0/\u0661\u0662\u0663",
    ],
)
def test_parse_rejects(path: str) -> None:
    with pytest.raises(FormatError):
        parse_tile_path(path)


def test_builders_reject() -> None:
    for call in (
        lambda: tile_path(64, 0),
        lambda: tile_path(0, -1),
        lambda: tile_path(0, 0, 0),
        lambda: tile_path(0, 0, 257),
        lambda: entries_path(0, 0),
        lambda: tile_node_ids(0, 0, 300),
    ):
        with pytest.raises(FormatError):
            call()


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 63), st.integers(0, 10**15), st.integers(1, 256), st.booleans())
def test_path_round_trip(level: int, index: int, width: int, entries: bool) -> None:
    ref = TileRef(0 if entries else level, index, width, entries)
    assert parse_tile_path(ref.path) == ref


def test_tile_contents_match_the_tree() -> None:
    """Every hash in every tile is a readable complete node with the C2SP-defined MTH."""
    size = 600
    leaves = [leaf_hash(i.to_bytes(4, "big")) for i in range(size)]
    tree = MemoryTree(leaves)
    tiles = [t for t in tiles_for_size(size) if not t.is_entries]
    assert [(t.level, t.index, t.width) for t in tiles] == [
        (0, 0, 256),
        (0, 1, 256),
        (0, 2, 88),
        (1, 0, 2),
    ]
    for t in tiles:
        ids = tile_node_ids(t.level, t.index, t.width)
        assert ids[0] == (8 * t.level, t.index * 256)
        hashes = tree.read(ids)
        for i in range(t.width):
            span = 256**t.level
            begin = (t.index * 256 + i) * span
            want = root_from_leaf_hashes(leaves[begin : begin + span])
            assert hashes[(8 * t.level, t.index * 256 + i)] == want


def test_entry_bundle() -> None:
    entries = [b"", b"a", b"x" * 65535]
    data = encode_entry_bundle(entries)
    assert data[:5] == b"\x00\x00\x00\x01a"
    assert decode_entry_bundle(data) == entries
    assert decode_entry_bundle(data, width=3) == entries
    with pytest.raises(FormatError, match="expected 2"):
        decode_entry_bundle(data, width=2)
    with pytest.raises(FormatError, match="under 65536"):
        encode_entry_bundle([b"x" * 65536])
    with pytest.raises(FormatError, match="at most 256"):
        encode_entry_bundle([b""] * 257)
    with pytest.raises(FormatError, match="length prefix"):
        decode_entry_bundle(b"\x00")
    with pytest.raises(FormatError, match="truncated"):
        decode_entry_bundle(b"\x00\x05abc")
    with pytest.raises(FormatError, match="more than 256"):
        decode_entry_bundle(b"\x00\x00" * 257)
    assert decode_entry_bundle(b"") == []


@settings(max_examples=100, deadline=None)
@given(st.lists(st.binary(max_size=300), max_size=256))
def test_entry_bundle_round_trip(entries: list[bytes]) -> None:
    assert decode_entry_bundle(encode_entry_bundle(entries), width=len(entries)) == entries
