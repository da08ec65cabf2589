"""Durable witness state and witness key files.

A witness must never cosign a checkpoint that rolls back one it already cosigned, so
its record of each log's latest tree head is written to disk atomically (temporary
file, fsync, ``os.replace``, fsync of the directory) *before* a cosignature leaves
the process. Updates run under a thread lock and an ``flock`` on a sibling lock file,
so two threads or two processes sharing a state file cannot interleave check and
write (the rollback race described in c2sp.org/tlog-witness).

The key file holds the witness name and Ed25519 seed in the signed-note private key
layout, with signature type 0x04 (c2sp.org/tlog-cosignature):
``PRIVATE+KEY+<name>+<hex key id>+base64(0x04 || seed)``; it is created 0600 and
refused when group or others can read it.
"""

from __future__ import annotations

import base64
import binascii
import fcntl
import json
import os
import stat
import tempfile
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from custodes.errors import CustodesError
from custodes.ledger.errors import LedgerError
from custodes.ledger.note import (
    COSIGNATURE_V1,
    CosignerKey,
    cosign,
    generate_cosigner_key,
    is_valid_key_name,
)
from custodes.ledger.rfc6962 import HASH_SIZE

STATE_FORMAT = "custodes-witness-state/v1"
"""Value of the ``format`` member of a state file; anything else is refused."""

KEY_FILE = "witness.key"
PUB_FILE = "witness.pub"


class WitnessError(LedgerError, CustodesError):
    """Base for every witness failure; ``status`` is the HTTP code the spec assigns."""

    status: int = 500


class WitnessStateError(WitnessError):
    """The state or key file is missing, corrupt or unsafe; nothing was cosigned."""


# --- key files ---------------------------------------------------------------------------


@dataclass(frozen=True)
class WitnessKey:
    """A witness identity: its key name and Ed25519 seed (never shown in reprs)."""

    name: str
    seed: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if not is_valid_key_name(self.name):
            raise WitnessStateError(
                f"invalid witness name {self.name!r}: use a schema-less URL without "
                "'+', spaces or control characters"
            )
        if len(self.seed) != 32:
            raise WitnessStateError(f"witness seed must be 32 bytes, got {len(self.seed)}")

    @property
    def cosigner_key(self) -> CosignerKey:
        """The public key that verifies this witness's cosignatures."""
        return CosignerKey.from_seed(self.name, self.seed)

    @property
    def vkey(self) -> str:
        """Verifier key ``<name>+<hex id>+base64(0x04 || public key)`` to hand to logs."""
        return self.cosigner_key.vkey

    @property
    def skey(self) -> str:
        """Private key string as stored in the key file."""
        material = base64.b64encode(bytes([COSIGNATURE_V1]) + self.seed).decode("ascii")
        return f"PRIVATE+KEY+{self.name}+{self.cosigner_key.key_id:08x}+{material}"

    def cosign(self, checkpoint_body: str, timestamp: int) -> str:
        """A cosignature/v1 signature line over ``checkpoint_body`` at ``timestamp``."""
        return cosign(checkpoint_body, self.seed, self.name, timestamp)


def generate_witness_key(name: str) -> WitnessKey:
    """A fresh random witness key."""
    if not is_valid_key_name(name):
        raise WitnessStateError(
            f"invalid witness name {name!r}: use a schema-less URL without "
            "'+', spaces or control characters"
        )
    seed, _ = generate_cosigner_key(name)
    return WitnessKey(name, seed)


def parse_witness_skey(skey: str) -> WitnessKey:
    """Parse a key file line, checking the type byte and that the key id matches."""
    parts = skey.strip().split("+", 4)
    if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
        raise WitnessStateError(
            "malformed witness key: want PRIVATE+KEY+<name>+<hex id>+<base64> "
            "(create one with `custodes witness keygen`)"
        )
    _, _, name, id_hex, material = parts
    try:
        raw = base64.b64decode(material.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error, ValueError):
        raise WitnessStateError("witness key material is not valid base64") from None
    if len(raw) != 33 or raw[0] != COSIGNATURE_V1:
        raise WitnessStateError(
            f"witness key for {name!r} is not a 0x{COSIGNATURE_V1:02x} (cosignature/v1) "
            "Ed25519 seed"
        )
    key = WitnessKey(name, raw[1:])
    if id_hex.lower() != f"{key.cosigner_key.key_id:08x}":
        raise WitnessStateError(
            f"witness key for {name!r}: key ID {id_hex} does not match the key "
            f"(expected {key.cosigner_key.key_id:08x})"
        )
    return key


def write_witness_key(key: WitnessKey, out_dir: Path) -> tuple[Path, Path]:
    """Write ``witness.key`` (0600) and ``witness.pub`` into ``out_dir``; never overwrite."""
    out_dir.mkdir(parents=True, exist_ok=True)
    key_path, pub_path = out_dir / KEY_FILE, out_dir / PUB_FILE
    for path in (key_path, pub_path):
        if path.exists():
            raise WitnessStateError(
                f"{path} already exists; refusing to overwrite a witness key (move it away first)"
            )
    _write_new(key_path, (key.skey + "\n").encode("ascii"), 0o600)
    _write_new(pub_path, (key.vkey + "\n").encode("utf-8"), 0o644)
    _fsync_dir(out_dir)
    return key_path, pub_path


def load_witness_key(path: Path) -> WitnessKey:
    """Read a key file written by :func:`write_witness_key`; refuse group/world access."""
    try:
        mode = path.stat().st_mode
        text = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise WitnessStateError(f"cannot read witness key {path}: {exc}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise WitnessStateError(
            f"witness key {path} is accessible by group or others "
            f"(mode {stat.S_IMODE(mode):o}); run `chmod 600 {path}`"
        )
    return parse_witness_skey(text)


def _write_new(path: Path, data: bytes, mode: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        os.fchmod(fd, mode)  # the umask must not widen or narrow what we asked for
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# --- state file --------------------------------------------------------------------------


@dataclass(frozen=True)
class LogRecord:
    """The latest tree head the witness cosigned for one log origin."""

    size: int
    root_hash: bytes
    checkpoint: str
    """The checkpoint note as submitted (log signatures included), kept as evidence."""
    cosigned_at: int
    """Timestamp of the cosignature issued for it."""

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form (root hash in base64)."""
        return {
            "size": self.size,
            "root_hash": base64.b64encode(self.root_hash).decode("ascii"),
            "checkpoint": self.checkpoint,
            "cosigned_at": self.cosigned_at,
        }

    @classmethod
    def from_json(cls, origin: str, data: Any) -> LogRecord:
        """Strictly parse one record; a corrupt state must stop the witness, not reset it."""
        where = f"witness state for {origin!r}"
        if not isinstance(data, dict):
            raise WitnessStateError(f"{where} is not an object")
        size, root64 = data.get("size"), data.get("root_hash")
        checkpoint, cosigned_at = data.get("checkpoint"), data.get("cosigned_at")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise WitnessStateError(f"{where}: size must be a non-negative integer")
        if not isinstance(cosigned_at, int) or isinstance(cosigned_at, bool) or cosigned_at < 0:
            raise WitnessStateError(f"{where}: cosigned_at must be a non-negative integer")
        if not isinstance(checkpoint, str) or not isinstance(root64, str):
            raise WitnessStateError(f"{where}: root_hash and checkpoint must be strings")
        try:
            root = base64.b64decode(root64.encode("ascii"), validate=True)
        except (UnicodeEncodeError, binascii.Error, ValueError):
            raise WitnessStateError(f"{where}: root_hash is not base64") from None
        if len(root) != HASH_SIZE:
            raise WitnessStateError(f"{where}: root_hash must be {HASH_SIZE} bytes")
        return cls(size, root, checkpoint, cosigned_at)


class StateTransaction:
    """A locked view of the state: read records, then persist changes with :meth:`put`."""

    def __init__(self, state: WitnessState, records: dict[str, LogRecord]) -> None:
        self._state = state
        self._records = records

    def get(self, origin: str) -> LogRecord | None:
        """The recorded tree head for ``origin``, or None if never cosigned."""
        return self._records.get(origin)

    def put(self, origin: str, record: LogRecord) -> None:
        """Record a tree head durably; returns only once it is on disk."""
        records = dict(self._records)
        records[origin] = record
        self._state._write(records)
        self._records = records


class WitnessState:
    """The witness's per-origin record in one JSON file, safe across threads and processes."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    @property
    def lock_path(self) -> Path:
        """Sibling file that carries the inter-process ``flock``."""
        return self.path.with_name(self.path.name + ".lock")

    def records(self) -> dict[str, LogRecord]:
        """Every recorded log (a consistent snapshot: writes replace the file atomically)."""
        return self._read()

    def get(self, origin: str) -> LogRecord | None:
        """The recorded tree head for ``origin``, or None."""
        return self._read().get(origin)

    @contextmanager
    def transaction(self) -> Iterator[StateTransaction]:
        """Hold the state exclusively while checking and updating it."""
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                yield StateTransaction(self, self._read())
            finally:
                os.close(fd)  # closing releases the flock

    def _read(self) -> dict[str, LogRecord]:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise WitnessStateError(f"cannot read witness state {self.path}: {exc}") from None
        try:
            data = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise WitnessStateError(
                f"witness state {self.path} is not valid JSON; restore it from a backup "
                "(starting afresh would let a log roll back)"
            ) from None
        if not isinstance(data, dict) or data.get("format") != STATE_FORMAT:
            raise WitnessStateError(f"witness state {self.path} is not a {STATE_FORMAT} file")
        logs = data.get("logs")
        if not isinstance(logs, dict):
            raise WitnessStateError(f"witness state {self.path} has no 'logs' object")
        return {origin: LogRecord.from_json(origin, rec) for origin, rec in logs.items()}

    def _write(self, records: Mapping[str, LogRecord]) -> None:
        payload = {
            "format": STATE_FORMAT,
            "logs": {origin: records[origin].to_json() for origin in sorted(records)},
        }
        data = (json.dumps(payload, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
        try:
            atomic_write(self.path, data)
        except OSError as exc:
            raise WitnessStateError(f"cannot write witness state {self.path}: {exc}") from None


def atomic_write(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Replace ``path`` with ``data`` so a crash leaves either the old or the new file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        try:
            os.fchmod(fd, mode)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        with suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)


__all__ = [
    "KEY_FILE",
    "PUB_FILE",
    "STATE_FORMAT",
    "LogRecord",
    "StateTransaction",
    "WitnessError",
    "WitnessKey",
    "WitnessState",
    "WitnessStateError",
    "atomic_write",
    "generate_witness_key",
    "load_witness_key",
    "parse_witness_skey",
    "write_witness_key",
]
