"""c2sp.org/tlog-proof@v1 text against the transparency-dev vectors, and end to end."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custodes.ledger.checkpoint import Checkpoint, sign_checkpoint
from custodes.ledger.errors import FormatError, LedgerError
from custodes.ledger.note import Signer, Verifier, generate_signer_key
from custodes.ledger.proof import MemoryTree
from custodes.ledger.rfc6962 import leaf_hash
from custodes.ledger.tlog_proof import TlogProof

H = base64.b64encode(leaf_hash(b"h")).decode()


def test_marshal_vectors(vectors: dict[str, Any]) -> None:
    for v in vectors["tlog_proof_marshal"]["vectors"]:
        extra = v["extra_utf8"].encode() if "extra_utf8" in v else None
        assert v.get("extra") is None
        proof = TlogProof(
            v["index"], tuple(bytes.fromhex(x) for x in v["hashes"]), v["checkpoint"], extra
        )
        assert proof.marshal() == v["want"]
        assert TlogProof.parse(v["want"]) == proof


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("c2sp.org/tlog-proof@v2\nindex 0\n\ncp\n", "must start with"),
        ("c2sp.org/tlog-proof@v1\n\ncp\n", "index"),
        ("c2sp.org/tlog-proof@v1\nindex 0\ncp\n", "no blank line"),
        ("c2sp.org/tlog-proof@v1\nindex 0\n\n", "no checkpoint"),
        ("c2sp.org/tlog-proof@v1\nindex 01\n\ncp\n", "leading zeros"),
        ("c2sp.org/tlog-proof@v1\nindex -1\n\ncp\n", "leading zeros"),
        ("c2sp.org/tlog-proof@v1\nindex  1\n\ncp\n", "leading zeros"),
        (f"c2sp.org/tlog-proof@v1\nindex {1 << 64}\n\ncp\n", "larger than"),
        ("c2sp.org/tlog-proof@v1\nindex 1\nYWJj\n\ncp\n", "want 32"),
        ("c2sp.org/tlog-proof@v1\nindex 1\nnot base64\n\ncp\n", "base64"),
        (f"c2sp.org/tlog-proof@v1\nindex 1\n{H}\nextra YWJj\n\ncp\n", "base64"),
        (f"c2sp.org/tlog-proof@v1\nindex 1\nextra YWJj\n{H}\n\ncp\n", "base64"),
        ("c2sp.org/tlog-proof@v1\nextra !!\nindex 1\n\ncp\n", "base64"),
        ("c2sp.org/tlog-proof@v1\nextra YWJj\n\ncp\n", "index"),
        ("c2sp.org/tlog-proof@v1\nindex 0\n\ncp", "newline"),
    ],
)
def test_parse_rejects(text: str, match: str) -> None:
    with pytest.raises(FormatError, match=match):
        TlogProof.parse(text)


def test_end_to_end_verify() -> None:
    skey, vkey = generate_signer_key("example.com/log")
    signer, verifier = Signer.from_skey(skey), Verifier.from_vkey(vkey)
    tree = MemoryTree.from_entries(f"entry {i}".encode() for i in range(21))
    note = sign_checkpoint(Checkpoint("example.com/log", tree.size, tree.root()), signer)
    leaf = tree.node(0, 13)
    proof = TlogProof.create(13, tree.inclusion_proof(13), note, extra=b"ctx")
    parsed = TlogProof.parse(proof.marshal())
    assert parsed.verify(leaf, verifier, "example.com/log").size == 21
    with pytest.raises(LedgerError):
        parsed.verify(tree.node(0, 12), verifier, "example.com/log")
    with pytest.raises(LedgerError):
        parsed.verify(leaf, verifier, "other.example/log")


@settings(max_examples=100, deadline=None)
@given(
    st.integers(0, (1 << 64) - 1),
    st.lists(st.binary(min_size=32, max_size=32), max_size=64),
    st.one_of(st.none(), st.binary(max_size=64)),
)
def test_round_trip(index: int, hashes: list[bytes], extra: bytes | None) -> None:
    proof = TlogProof(index, tuple(hashes), "origin\n1\nroot\n\n\u2014 sig line\n", extra)
    assert TlogProof.parse(proof.marshal()) == proof
