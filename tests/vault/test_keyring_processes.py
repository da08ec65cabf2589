"""The keyring file is shared by long-running servers and `custodes keys ...` commands: each
must see the other's changes, and two changes at once must not lose a key."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from custodes.vault import keyring as keyring_module
from custodes.vault.errors import KeyringError
from custodes.vault.keyring import FileKeyring


@pytest.fixture(autouse=True)
def look_every_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(keyring_module, "FOLLOW_INTERVAL", 0.0)


def test_a_running_server_follows_rotation_and_retirement(tmp_path: Path) -> None:
    FileKeyring.create(tmp_path)
    server = FileKeyring.open(tmp_path)  # loaded once, like `custodes serve`
    version, wrapped_v1 = server.wrap(os.urandom(32), b"C1")
    assert version == 1
    command = FileKeyring.open(tmp_path)  # `custodes keys rotate`, then `keys retire 1`
    command.add_version()
    command.retire(1)
    assert server.wrap(os.urandom(32), b"C2")[0] == 2  # new keys under the active version
    with pytest.raises(KeyringError, match="retired"):
        server.unwrap(1, wrapped_v1, b"C1")  # the destroyed version no longer works anywhere


def test_two_rotations_from_stale_copies_keep_both_keys(tmp_path: Path) -> None:
    FileKeyring.create(tmp_path)
    first, second = FileKeyring.open(tmp_path), FileKeyring.open(tmp_path)
    a = first.add_version()
    wrapped_a = first.wrap(os.urandom(32), b"C1")
    b = second.add_version()  # `second` still believed v1 was the newest
    assert (a, b) == (2, 3)
    fresh = FileKeyring.open(tmp_path)
    assert fresh.versions == [1, 2, 3] and fresh.active_version == 3
    assert len(fresh.unwrap(wrapped_a[0], wrapped_a[1], b"C1")) == 32
    assert not list(tmp_path.glob("*.tmp"))


def test_a_keyring_readable_by_others_is_refused(tmp_path: Path) -> None:
    FileKeyring.create(tmp_path)
    (tmp_path / "keyring.json").chmod(0o644)
    with pytest.raises(KeyringError, match="chmod 600"):
        FileKeyring.open(tmp_path)
