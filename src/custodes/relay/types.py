"""The relay's small value types: its configuration, a pair, a route, an acceptance."""

from __future__ import annotations

from dataclasses import dataclass, field

from custodes.relay import dlp


@dataclass
class RelayConfig:
    domain: str = "relay.custodes.example"
    service: str = "relay"
    marketplace: str = "the marketplace"
    max_size: int = 10 * 1024 * 1024
    seller_dlp: dlp.Policy = field(default_factory=dlp.Policy)
    # Customers' own details must not reach a seller either; links and phrases are theirs.
    customer_dlp: dlp.Policy = field(
        default_factory=lambda: dlp.Policy(
            actions={"email": "redact", "phone": "redact", "url": "allow", "solicitation": "allow"}
        )
    )

    def __post_init__(self) -> None:
        self.domain = self.domain.lower()
        for policy in (self.seller_dlp, self.customer_dlp):
            if self.domain not in policy.allowed_domains:
                policy.allowed_domains = (*policy.allowed_domains, self.domain)


@dataclass(frozen=True)
class Pair:
    """A (seller, customer) pair as routing and the record name it."""

    alias: str
    seller_id: str
    customer_id: str


@dataclass(frozen=True)
class Route:
    direction: str  # to_customer | to_seller | bounce
    alias: str
    seller_id: str | None
    customer_id: str | None
    outbound_id: str | None = None  # for bounces: the message that bounced
    seller_name: str | None = None


@dataclass(frozen=True)
class Accepted:
    message_id: str
    verdict: str  # forwarded | redacted | held | bounce
    reply: str
