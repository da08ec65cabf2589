"""Key-encryption keys (versioned) and the vault's HMAC keys.

`Keyring` is the seam where an external KMS plugs in later: the vault only asks it to wrap and
unwrap data keys and for two HMAC keys. `FileKeyring` keeps everything in one 0600 JSON file under
CUSTODES_HOME, written atomically so a crash never leaves half a keyring.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from custodes.vault.errors import DecryptionError, KeyringError

KEYRING_FILE = "keyring.json"
_NONCE = 12


class Keyring(Protocol):
    """What the vault needs from key management (a KMS adapter implements the same)."""

    @property
    def active_version(self) -> int: ...

    def wrap(self, data_key: bytes, context: bytes) -> tuple[int, bytes]: ...

    def unwrap(self, version: int, wrapped: bytes, context: bytes) -> bytes: ...

    @property
    def blind_index_key(self) -> bytes: ...

    @property
    def pseudonym_key(self) -> bytes: ...


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _unb64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


FOLLOW_INTERVAL = 0.5  # seconds between looks at the keyring file for another process's change


class FileKeyring:
    """A keyring in a local file: KEK versions, the active one, retired ones, two HMAC keys."""

    def __init__(self, path: Path, data: dict[str, object]) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._load(data)
        self._stamp = _stamp(path)
        self._checked = time.monotonic()

    def _load(self, data: dict[str, object]) -> None:
        try:
            keks = data["keks"]
            assert isinstance(keks, dict)
            self._keks = {int(v): AESGCM(_unb64(str(k))) for v, k in keks.items()}
            self._raw_keks = {int(v): str(k) for v, k in keks.items()}
            self._active = int(str(data["active"]))
            self._retired = {int(v) for v in data.get("retired", [])}  # type: ignore[attr-defined]
            self._blind = _unb64(str(data["blind_index_key"]))
            self._pseudo = _unb64(str(data["pseudonym_key"]))
        except (KeyError, ValueError, AssertionError, TypeError) as exc:
            raise KeyringError(
                f"keyring file {self._path} is malformed ({exc.__class__.__name__})"
            ) from None
        if self._active not in self._keks:
            raise KeyringError(f"keyring file {self._path}: active version missing")

    # -- creation and loading -------------------------------------------------
    @classmethod
    def create(cls, keys_dir: Path) -> FileKeyring:
        """Create a new keyring; refuses to overwrite one (that would orphan every data key)."""
        keys_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(keys_dir, 0o700)
        path = keys_dir / KEYRING_FILE
        if path.exists():
            raise KeyringError(f"a keyring already exists at {path}; refusing to overwrite it")
        data: dict[str, object] = {
            "keks": {"1": _b64(AESGCM.generate_key(bit_length=256))},
            "active": 1,
            "retired": [],
            "blind_index_key": _b64(secrets.token_bytes(32)),
            "pseudonym_key": _b64(secrets.token_bytes(32)),
        }
        _write_private(path, data)
        return cls(path, data)

    @classmethod
    def open(cls, keys_dir: Path) -> FileKeyring:
        path = keys_dir / KEYRING_FILE
        if not path.exists():
            raise KeyringError(f"no keyring at {path}; run `custodes init` first")
        if path.stat().st_mode & 0o077:
            raise KeyringError(f"keyring {path} is readable by others; `chmod 600` it first")
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise KeyringError(f"cannot read keyring {path}: {exc.__class__.__name__}") from None
        return cls(path, data)

    @classmethod
    def open_or_create(cls, keys_dir: Path) -> FileKeyring:
        if (keys_dir / KEYRING_FILE).exists():
            return cls.open(keys_dir)
        return cls.create(keys_dir)

    def reload(self) -> None:
        """Pick up versions added by another process (rotation runs beside live readers)."""
        fresh = FileKeyring.open(self._path.parent)
        with self._lock:
            self._load(fresh._serialise())
            self._stamp = fresh._stamp

    def _follow_file(self) -> None:
        """Reload when the file changed: a long-running server must wrap under the version
        `keys rotate` made active, and stop unwrapping one `keys retire` destroyed. Looked at
        no more than twice a second: a `stat` per sealed record would slow imports."""
        now = time.monotonic()
        if now - self._checked < FOLLOW_INTERVAL:
            return
        self._checked = now
        if _stamp(self._path) != self._stamp:
            self.reload()

    def _serialise(self) -> dict[str, object]:
        return {
            "keks": {str(v): k for v, k in sorted(self._raw_keks.items())},
            "active": self._active,
            "retired": sorted(self._retired),
            "blind_index_key": _b64(self._blind),
            "pseudonym_key": _b64(self._pseudo),
        }

    # -- the Keyring protocol -------------------------------------------------
    @property
    def active_version(self) -> int:
        return self._active

    @property
    def versions(self) -> list[int]:
        return sorted(self._keks)

    @property
    def retired_versions(self) -> list[int]:
        return sorted(self._retired)

    @property
    def blind_index_key(self) -> bytes:
        return self._blind

    @property
    def pseudonym_key(self) -> bytes:
        return self._pseudo

    def wrap(self, data_key: bytes, context: bytes) -> tuple[int, bytes]:
        """Wrap a data key under the active KEK, bound to `context` (the customer id)."""
        self._follow_file()
        version = self._active
        nonce = os.urandom(_NONCE)
        aad = b"custodes/dk/v1|%d|" % version + context
        return version, nonce + self._keks[version].encrypt(nonce, data_key, aad)

    def unwrap(self, version: int, wrapped: bytes, context: bytes) -> bytes:
        self._follow_file()
        if version not in self._keks:
            self.reload()
        if version not in self._keks:
            raise KeyringError(f"key-encryption key version {version} is retired or unknown")
        aad = b"custodes/dk/v1|%d|" % version + context
        try:
            return self._keks[version].decrypt(wrapped[:_NONCE], wrapped[_NONCE:], aad)
        except InvalidTag:
            raise DecryptionError("data key failed to unwrap: wrong key or tampered") from None

    # -- rotation -------------------------------------------------------------
    @contextmanager
    def _changing(self) -> Iterator[None]:
        """One writer at a time across processes, working on the file as it is now: two
        rotations at once must not both make a "v2" and lose one of them."""
        with (self._path.with_suffix(".lock")).open("a") as lock_file:
            fcntl.flock(lock_file.fileno(), fcntl.LOCK_EX)
            self.reload()
            with self._lock:
                yield
                _write_private(self._path, self._serialise())
                self._stamp = _stamp(self._path)

    def add_version(self) -> int:
        """Add a KEK version and make it active; older versions still unwrap until retired."""
        with self._changing():
            # Never reuse a number, not even a retired one's.
            version = max([*self._keks, *self._retired]) + 1
            raw = AESGCM.generate_key(bit_length=256)
            self._raw_keks[version] = _b64(raw)
            self._keks[version] = AESGCM(raw)
            self._active = version
        return version

    def retire(self, version: int) -> None:
        """Retire a version: nothing wrapped under it will unwrap again."""
        with self._changing():
            if version == self._active:
                raise KeyringError("cannot retire the active key-encryption key")
            if version not in self._keks:
                raise KeyringError(f"no key-encryption key version {version}")
            self._retired.add(version)
            # Destroy the key material itself: a retired KEK must not be recoverable from disk.
            del self._keks[version]
            del self._raw_keks[version]


def _stamp(path: Path) -> tuple[int, int, int]:
    """What changes when the file is replaced (inode, size, modification time)."""
    try:
        st = path.stat()
    except OSError:
        return (0, 0, 0)
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def _write_private(path: Path, data: dict[str, object]) -> None:
    """Write a secret file with mode 0600 from the first byte, then rename over the old one."""
    tmp = path.with_suffix(f".{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(data, handle, indent=2, sort_keys=True)
        handle.flush()
        os.fsync(handle.fileno())
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
