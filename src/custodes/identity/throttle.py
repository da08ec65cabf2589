"""A per-client-address rate limit for anonymous endpoints that store something (`GET
/signin/oidc` keeps a pending sign-in per call): a token bucket per address, in memory.

IPv6 addresses are limited per /64, the block one subscriber usually holds, so a single host
cannot step around the limit by changing its interface id. The table of buckets is bounded:
past `max_clients` the least recently seen addresses are forgotten (a forgotten address starts
with a full bucket, so the limit errs towards letting people in; the store's own cap on
pending sign-ins is what bounds the table across processes). Addresses are never logged.

The address is the one the ASGI server reports: the peer, or behind a reverse proxy the
`X-Forwarded-For` uvicorn accepts from proxies it trusts (`--forwarded-allow-ips`, 127.0.0.1
by default). Each worker process keeps its own buckets.
"""

from __future__ import annotations

import ipaddress
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from threading import Lock


def client_key(host: str | None) -> str:
    """The address to limit: the host itself for IPv4, its /64 for IPv6, "" when unknown (all
    unknown clients share one bucket)."""
    if not host:
        return ""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host[:64]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


class AddressThrottle:
    """`burst` calls at once per address, then `per_minute` a minute."""

    def __init__(
        self,
        burst: int,
        per_minute: float,
        max_clients: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if burst < 1 or per_minute <= 0 or max_clients < 1:
            raise ValueError("a throttle needs a positive burst, rate and table size")
        self.burst = float(burst)
        self.rate = per_minute / 60.0  # tokens per second
        self.max_clients = max_clients
        self._clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # tokens, at
        self._lock = Lock()

    def take(self, host: str | None) -> float:
        """0.0 when the call may go ahead (and it is counted), else the seconds to wait."""
        key = client_key(host)
        now = self._clock()
        with self._lock:
            tokens, at = self._buckets.pop(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - at) * self.rate)
            wait = 0.0
            if tokens >= 1.0:
                tokens -= 1.0
            else:
                wait = (1.0 - tokens) / self.rate
            self._buckets[key] = (tokens, now)
            while len(self._buckets) > self.max_clients:
                self._buckets.popitem(last=False)
        return wait

    @staticmethod
    def retry_after(wait: float) -> str:
        """The Retry-After header's value: whole seconds, at least one."""
        return str(max(1, math.ceil(wait)))


__all__ = ["AddressThrottle", "client_key"]
