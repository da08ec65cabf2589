"""The HTTP reveal with the employee proven by their OIDC ID token (ES256, JWKS on loopback,
one token per agent) against the legacy header mode, in the same run as the bare peer.

On a shared machine the load drifts by more than the difference being measured, so the modes
alternate (header, JWT, header, JWT, header) and the ratios are of the means. Besides
requests/s, the server's own CPU per answered request is compared: it does not depend on how
much CPU the other tenants leave, and it is what the JWT path adds. Each JWT run follows a
bare run, and its ratio to the bare endpoint is of those pairs (verification is cached by
the token's hash, so a repeated token costs a hash and the employee re-check)."""

from __future__ import annotations

from statistics import mean, median

from bench.access_bench import _bare, _custodes, paired_ratios, ratio_text
from bench.report import Row


def jwt_rows(quick: bool, header: dict[str, float]) -> list[Row]:
    """JWT against header mode, alternating; each JWT run right after a bare run, so its ratio
    to the bare endpoint pairs runs close in time (see `paired_ratios`)."""
    headers, jwts, bares = [header], [], []
    for _ in range(2):
        bares.append(_bare(quick))
        jwts.append(_custodes(quick, 1, mode="jwt"))
        headers.append(_custodes(quick, 1))
    to_bare = paired_ratios(jwts, bares)
    rate_h, rate_j = mean(h["rate"] for h in headers), mean(j["rate"] for j in jwts)
    cpu_h = mean(h["cpu_us"] for h in headers) / 1e3  # ms of server CPU per request
    cpu_j = mean(j["cpu_us"] for j in jwts) / 1e3
    each = " / ".join(f"{h['rate']:.0f}" for h in headers)
    return [
        Row(
            "HTTP reveal, employee's ID token (JWT), 1 process, mean of 2",
            rate_j,
            "requests/s",
            f"header mode {rate_h:.0f} req/s (mean of {each})",
            rate_j / rate_h,
            ">= 0.9x header",
        ),
        Row(
            "  ... server CPU per request, JWT",
            cpu_j,
            "ms",
            f"header mode {cpu_h:.3f} ms",
            cpu_j / cpu_h,
            "<= 0.2 ms more",
        ),
        Row(
            "HTTP reveal with JWT against bare FastAPI",
            rate_j,
            "requests/s",
            ratio_text(to_bare),
            median(to_bare),
            ">= 0.5x bare",
        ),
        Row(
            "HTTP reveal latency p99, JWT, 1 process",
            max(j["p99"] for j in jwts),
            "ms p99",
            f"p50 {mean(j['p50'] for j in jwts):.1f} ms",
            None,
            "p99 <= 50 ms",
        ),
        Row(
            "HTTP reveal non-2xx responses, JWT",
            sum(j["errors"] for j in jwts),
            "responses",
            "",
            None,
            "0",
        ),
    ]
