"""One row per figure: what, how fast, against what, the ratio, and the target it answers."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from rich.console import Console
from rich.table import Table


@dataclass(frozen=True)
class Row:
    name: str
    value: float
    unit: str
    peer: str = ""
    ratio: float | None = None
    target: str = ""


def best_of(fn: Callable[[], object], repeat: int = 3) -> float:
    """Best wall time of `repeat` runs: the least disturbed by the other core's work."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def print_rows(rows: list[Row], console: Console | None = None) -> None:
    table = Table(title="custodes benchmarks")
    for column in ("benchmark", "figure", "unit", "against", "ratio", "target"):
        table.add_column(column, justify="right" if column in ("figure", "ratio") else "left")
    for row in rows:
        ratio = "" if row.ratio is None else f"{row.ratio:.2f}x"
        table.add_row(row.name, f"{row.value:,.2f}", row.unit, row.peer, ratio, row.target)
    (console or Console(width=200)).print(table)
