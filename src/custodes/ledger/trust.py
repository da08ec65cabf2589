"""A verifier's memory: the newest checkpoint it verified, per log and key, like a witness's.

Without it, a log truncated (with its checkpoints) to an older signed state verifies "ok" against
the log key forever. With it, `custodes ledger verify` refuses a checkpoint older than, or not an
extension of, the one it accepted before.
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass
from pathlib import Path

from custodes.ledger.errors import LedgerError
from custodes.ledger.rfc6962 import HASH_SIZE


def default_trust_file() -> Path:
    """Under the user's home: an auditor's memory outlives any one export or server."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "custodes" / "verified-checkpoints.json"


@dataclass(frozen=True)
class Trusted:
    size: int
    root: bytes


class TrustStore:
    """A JSON file mapping `origin key-id` to the newest verified (size, root)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._records = self._read()

    @staticmethod
    def key(origin: str, key_id: int) -> str:
        return f"{origin} {key_id:08x}"

    def get(self, origin: str, key_id: int) -> Trusted | None:
        return self._records.get(self.key(origin, key_id))

    def remember(self, origin: str, key_id: int, trusted: Trusted) -> None:
        """Keep the newer of what is stored and `trusted`, durably."""
        current = self.get(origin, key_id)
        if current is not None and current.size >= trusted.size:
            return
        self._records[self.key(origin, key_id)] = trusted
        self.path.parent.mkdir(parents=True, exist_ok=True)
        body = json.dumps(
            {
                name: {"size": t.size, "root": base64.b64encode(t.root).decode()}
                for name, t in sorted(self._records.items())
            },
            indent=2,
        ).encode()
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, body)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, self.path)

    def _read(self) -> dict[str, Trusted]:
        if not self.path.exists():
            return {}
        try:
            raw = json.loads(self.path.read_text())
            records = {}
            for name, item in raw.items():
                root = base64.b64decode(item["root"], validate=True)
                size = int(item["size"])
                if len(root) != HASH_SIZE or size < 0:
                    raise ValueError(name)
                records[str(name)] = Trusted(size, root)
            return records
        except (ValueError, KeyError, TypeError, AttributeError):
            raise LedgerError(
                f"{self.path}: the verified-checkpoint file is malformed; restore it or remove it "
                "to start trusting afresh"
            ) from None
