"""Simulation settings and the small deterministic primitives every sim module shares.

Nothing in ``custodes.sim`` reads the clock or the process hash seed: every random choice comes
from a ``random.Random`` derived from ``SimConfig.seed`` and a fixed stream name, so the same
config always produces the same marketplace, byte for byte.
"""

from __future__ import annotations

import bisect
import itertools
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Generic, TypeVar

from custodes.sim.errors import SimError

T = TypeVar("T")

DEFAULT_START = datetime(2026, 1, 5, tzinfo=UTC)
"""A Monday; the simulated window starts here."""

MIN_EMPLOYEES = 10
"""One top manager plus at least one member in each of the nine teams."""

DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class SimConfig:
    """What to simulate: sizes, the window ``[start, start + days)`` and the seed."""

    seed: int = 7
    customers: int = 1000
    employees: int = 50
    days: int = 30
    start: datetime = field(default=DEFAULT_START)

    def __post_init__(self) -> None:
        if self.customers < 1:
            raise SimError("SimConfig.customers must be at least 1")
        if self.employees < MIN_EMPLOYEES:
            raise SimError(
                f"SimConfig.employees must be at least {MIN_EMPLOYEES} "
                "(a top manager and one member in each team)"
            )
        if self.days < 1:
            raise SimError("SimConfig.days must be at least 1")
        if self.start.tzinfo is None:
            raise SimError("SimConfig.start must be timezone-aware (use tzinfo=UTC)")
        start = self.start.astimezone(UTC).replace(microsecond=0)
        object.__setattr__(self, "start", start)

    @property
    def end(self) -> datetime:
        """First instant after the simulated window."""
        return self.start + timedelta(days=self.days)


def stream(seed: int, name: str) -> random.Random:
    """An independent, reproducible random stream for one part of the simulation.

    Seeding with a string is stable across processes (it is hashed with SHA-512, not ``hash``),
    and separate streams keep one module's changes from reshuffling every other module.
    """
    return random.Random(f"custodes-sim:{seed}:{name}")


def seconds(n: float) -> timedelta:
    """A whole-second duration (all simulated times are whole seconds)."""
    return timedelta(seconds=int(n))


def between(rng: random.Random, lo: datetime, hi: datetime) -> datetime:
    """A uniformly random whole-second instant in ``[lo, hi)`` (``lo`` if the range is empty)."""
    span = int((hi - lo).total_seconds())
    if span <= 0:
        return lo
    return lo + timedelta(seconds=rng.randrange(span))


class Picker(Generic[T]):
    """Weighted choice with precomputed cumulative weights (``rng.choices`` recomputes them)."""

    __slots__ = ("_cum", "_items", "_total")

    def __init__(self, pairs: Sequence[tuple[T, float]]) -> None:
        if not pairs:
            raise ValueError("Picker needs at least one item")
        self._items = [item for item, _ in pairs]
        self._cum = list(itertools.accumulate(w for _, w in pairs))
        self._total = self._cum[-1]
        if self._total <= 0:
            raise ValueError("Picker weights must sum to a positive number")

    def __call__(self, rng: random.Random) -> T:
        i = bisect.bisect_right(self._cum, rng.random() * self._total)
        return self._items[min(i, len(self._items) - 1)]

    def __len__(self) -> int:
        return len(self._items)


def largest_remainder(total: int, weights: Sequence[float]) -> list[int]:
    """Split ``total`` into integer parts proportional to ``weights`` (deterministic ties)."""
    wsum = sum(weights)
    exact = [total * w / wsum for w in weights]
    parts = [int(x) for x in exact]
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - parts[i]), i))
    for i in order[: total - sum(parts)]:
        parts[i] += 1
    return parts
