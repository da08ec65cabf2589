"""Checkpoint bodies (c2sp.org/tlog-checkpoint) against transparency-dev and Go sumdb."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custodes.ledger.checkpoint import Checkpoint, open_checkpoint, sign_checkpoint
from custodes.ledger.errors import FormatError, NoteError
from custodes.ledger.note import Signer, Verifier, generate_signer_key
from custodes.ledger.rfc6962 import leaf_hash

ROOT = leaf_hash(b"root")
ROOT64 = base64.b64encode(ROOT).decode()


def test_transparency_dev_bodies(vectors: dict[str, Any]) -> None:
    for v in vectors["checkpoint_body"]["transparency_dev_formats"]["vectors"]:
        cp = Checkpoint(v["origin"], v["size"], bytes.fromhex(v["hash_hex"]))
        assert cp.to_body() == v["body"]
        assert Checkpoint.parse(v["body"], hash_size=None) == cp
        with pytest.raises(FormatError, match="want 32"):
            Checkpoint.parse(v["body"])  # these hashes are not SHA-256 sized


def test_go_sumdb_tree_note_body(vectors: dict[str, Any]) -> None:
    v = vectors["checkpoint_body"]["golang_mod_sumdb_tree_note"]
    record_hash = leaf_hash(v["record_data"].encode())
    assert base64.b64encode(record_hash).decode() == v["record_hash_b64"]
    cp = Checkpoint.parse(v["body"])
    assert cp == Checkpoint("go.sum database tree", 123456789012, record_hash)
    assert cp.to_body() == v["body"]


def test_extensions_round_trip() -> None:
    body = f"log\n5\n{ROOT64}\next one\next two\n"
    cp = Checkpoint.parse(body)
    assert cp.extensions == ("ext one", "ext two")
    assert cp.to_body() == body


@pytest.mark.parametrize(
    ("body", "match"),
    [
        (f"log\n5\n{ROOT64}", "end with a newline"),
        ("log\n5\n", "lines"),
        (f"\n5\n{ROOT64}\n", "origin must not be empty"),
        (f"log\n05\n{ROOT64}\n", "leading zeros"),
        (f"log\n+5\n{ROOT64}\n", "leading zeros"),
        (f"log\n-5\n{ROOT64}\n", "leading zeros"),
        (f"log\n 5\n{ROOT64}\n", "leading zeros"),
        (f"log\n1_000\n{ROOT64}\n", "leading zeros"),
        (f"log\n\u0665\n{ROOT64}\n", "leading zeros"),
        (f"log\n\n{ROOT64}\n", "leading zeros"),
        (f"log\n{1 << 64}\n{ROOT64}\n", "larger than"),
        ("log\n5\nnot base64!\n", "not valid base64"),
        (f"log\n5\n{ROOT64.rstrip('=')}\n", "not valid base64"),
        (f"log\n5\n{ROOT64[:-2]}B=\n", "not canonical"),
        (f"log\n5\n{ROOT64}\n\n", "extension line must not be empty"),
        (f"log\n5\n{ROOT64}\nx\ty\n", "control character"),
        (f"log\n5\n{base64.b64encode(ROOT[:31]).decode()}\n", "want 32"),
    ],
)
def test_parse_rejects(body: str, match: str) -> None:
    with pytest.raises(FormatError, match=match):
        Checkpoint.parse(body)


def test_constructor_rejects() -> None:
    with pytest.raises(FormatError):
        Checkpoint("", 1, ROOT)
    with pytest.raises(FormatError):
        Checkpoint("a\nb", 1, ROOT)
    with pytest.raises(FormatError):
        Checkpoint("log", -1, ROOT)
    with pytest.raises(FormatError):
        Checkpoint("log", 1, ROOT, ("",))


def test_sign_and_open() -> None:
    skey, vkey = generate_signer_key("example.com/log")
    signer, verifier = Signer.from_skey(skey), Verifier.from_vkey(vkey)
    cp = Checkpoint("example.com/log", 10, ROOT)
    note = sign_checkpoint(cp, signer)
    assert note.startswith(cp.to_body() + "\n\u2014 example.com/log ")
    assert open_checkpoint(note, verifier) == cp
    assert open_checkpoint(note, verifier, "example.com/log") == cp
    with pytest.raises(NoteError, match="expected 'other'"):
        open_checkpoint(note, verifier, "other")
    stranger = Verifier.from_vkey(generate_signer_key("example.com/log")[1])
    with pytest.raises(NoteError, match="no verified signature"):
        open_checkpoint(note, stranger)
    with pytest.raises(NoteError, match="invalid signature"):
        open_checkpoint(note.replace("\n10\n", "\n11\n"), verifier)


origins = st.text(
    alphabet=st.characters(min_codepoint=0x20, blacklist_categories=("Cs",)), min_size=1
)


@settings(max_examples=100, deadline=None)
@given(
    origins,
    st.integers(0, (1 << 64) - 1),
    st.binary(min_size=32, max_size=32),
    st.lists(origins, max_size=3),
)
def test_body_round_trip(origin: str, size: int, root: bytes, exts: list[str]) -> None:
    cp = Checkpoint(origin, size, root, tuple(exts))
    assert Checkpoint.parse(cp.to_body()) == cp
