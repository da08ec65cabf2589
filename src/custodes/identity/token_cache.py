"""Verified employee ID tokens, remembered by the SHA-256 of the token until the token stops
being acceptable, so a service sending the same token on every call pays for one signature
and claims check, not one per request.

An entry is used only while all of this still holds: the token has not expired nor grown past
the maximum age (no leeway: the cache never stretches a token's life), and the key that verified
it is still the one the provider publishes under its `kid` in a fresh key set (a rotated-out or
withdrawn key stops its tokens at once). The employee's status is not cached: the verifier
checks it again on every use. Bounded: the oldest entry goes when the cache is full.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from jwt import PyJWK

if TYPE_CHECKING:
    from custodes.identity.oidc import VerifiedEmployee


@dataclass(frozen=True)
class Remembered:
    who: VerifiedEmployee
    good_until: float  # POSIX seconds: min(exp, iat + max age)
    kid: str
    key: PyJWK


class VerifiedTokenCache:
    def __init__(self, size: int = 10_000) -> None:
        self.size = size
        self._entries: dict[bytes, Remembered] = {}
        self._lock = threading.Lock()  # writers only; a lookup is one dict read

    def get(self, digest: bytes, now: float) -> Remembered | None:
        entry = self._entries.get(digest)
        if entry is None:
            return None
        if now >= entry.good_until:
            return None  # left for `put` to evict: only writers change the dict, under the lock
        return entry

    def put(self, digest: bytes, entry: Remembered) -> None:
        with self._lock:
            self._entries.pop(digest, None)  # re-inserted last: it is the newest again
            while len(self._entries) >= self.size:
                self._entries.pop(next(iter(self._entries)))  # the oldest first
            self._entries[digest] = entry

    def __len__(self) -> int:
        return len(self._entries)
