"""The signer's memory: durable, private, and a torn write never loses the previous state."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from custodes.ledger.errors import LedgerError
from custodes.ledger.signer_state import SLOT, SignedHead, SignerRefused, SignerState

ROOT_A, ROOT_B = b"\x01" * 32, b"\x02" * 32


def test_it_survives_a_restart_and_a_torn_write(tmp_path: Path) -> None:
    path = tmp_path / "ledger.state"
    state = SignerState(path, "log.example")
    state.advance(10, ROOT_A)
    state.advance(11, ROOT_B)
    state.close()
    assert path.stat().st_mode & 0o777 == 0o600
    assert SignerState(path, "log.example").head == SignedHead(11, ROOT_B)
    data = bytearray(path.read_bytes())
    newer = 0 if b'"size": 11' in data[:SLOT] else 1
    data[newer * SLOT + 5 : newer * SLOT + 40] = b"x" * 35  # torn mid-record
    path.write_bytes(bytes(data))
    assert SignerState(path, "log.example").head == SignedHead(10, ROOT_A)


def test_it_refuses_others_readers_and_another_log(tmp_path: Path) -> None:
    path = tmp_path / "ledger.state"
    state = SignerState(path, "log.example")
    state.advance(1, ROOT_A)
    state.close()
    with pytest.raises(LedgerError, match="belongs to log"):
        SignerState(path, "other.example")
    os.chmod(path, 0o644)
    with pytest.raises(LedgerError, match="readable by others"):
        SignerState(path, "log.example")


@pytest.mark.parametrize(
    ("size", "root", "words"),
    [(9, ROOT_A, "removed"), (11, ROOT_A, "behind"), (10, ROOT_B, "rewrite")],
)
def test_only_the_signed_head_is_accepted(size: int, root: bytes, words: str) -> None:
    state = SignerState(None, "log.example")
    state.advance(10, ROOT_A)
    state.require_same(10, ROOT_A)
    with pytest.raises(SignerRefused, match=words):
        state.require_same(size, root)
