"""Which employee's e-mail reads best explain a leaked list: a likelihood model, pure.

Hypothesis "E leaked it": each leaked customer was drawn from the customers whose e-mail E read
(within one contiguous batch of E's reads, or all of them), or is noise drawn from the whole
population with probability eps:

    p_E(c) = (1 - eps) * [c read by E in W] / n_E(W) + eps / N

so the log-likelihood rewards covering the leak and punishes reading a lot: an employee who
read a customer nobody else read gains log(N / n_E) from it, while a customer read by hundreds
adds the same to each of them and cancels out of the comparison. That is the rarity weighting,
derived rather than tuned. A window W (a batch of reads with no gap longer than `BATCH_GAP`)
shrinks n_E(W) when the leak matches one batch; choosing among windows costs log(#windows).
eps is each hypothesis's own estimate (Laplace). Scores are posteriors under a uniform prior,
against "the list is noise" as well. A second source is reported when, after the best suspect's
share is removed, another employee explains the rest far better than chance.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from custodes.forensics.reads import Read, ReadIndex

BATCH_GAP = timedelta(hours=12)
WINDOWED_CANDIDATES = 25  # only the most likely candidates are refined by windows
SECOND_SOURCE_NATS = 6.0  # evidence a second source must add (about 400:1)
TOP = 10


@dataclass(frozen=True)
class Window:
    first: datetime
    last: datetime
    covered: int
    reads: int  # distinct customers the employee read in the window


@dataclass
class Suspect:
    employee_id: str
    role: str  # primary | second_source | alternative
    score: float
    covered: int
    loglik: float
    reads: int  # distinct customers the employee has read overall
    rare: int  # covered customers with at most two readers
    weighted_coverage: float  # coverage weighted by 1 / readers of each customer
    window: Window | None
    covered_ids: list[str] = field(default_factory=list)
    reads_of: dict[str, Read] = field(default_factory=dict)


@dataclass
class Ranking:
    matched: int
    suspects: list[Suspect]
    null_loglik: float


def loglik(covered: int, pool: int, leaked: int, population: int) -> float:
    """log P(leak | drawn from `pool` customers, `covered` of `leaked` inside it)."""
    eps = (leaked - covered + 1) / (leaked + 2)
    n = max(pool, covered, 1)
    inside = (1 - eps) / n + eps / population
    return covered * math.log(inside) + (leaked - covered) * math.log(eps / population)


def _clusters(times: Sequence[tuple[datetime, str]]) -> list[list[tuple[datetime, str]]]:
    out: list[list[tuple[datetime, str]]] = []
    for item in times:
        if out and item[0] - out[-1][-1][0] <= BATCH_GAP:
            out[-1].append(item)
        else:
            out.append([item])
    return out


@dataclass
class _Fit:
    loglik: float
    covered: list[str]
    window: Window | None


def _fit(
    employee_id: str,
    covered: dict[str, Read],
    leaked: int,
    population: int,
    total: int,
    index: ReadIndex,
    windows: bool,
) -> _Fit:
    """The best explanation of the leak by one employee: all reads or one batch of them."""
    ids = sorted(covered)
    best = _Fit(loglik(len(ids), total, leaked, population), ids, None)
    if not windows or len(ids) < 2:
        return best
    times = sorted((covered[c].first_time, c) for c in ids)
    batches = [b for b in _clusters(times) if len(b) >= 2]
    if not batches or (len(batches) == 1 and len(batches[0]) == len(ids) and total == len(ids)):
        return best
    cost = math.log(1 + len(batches))
    for batch in batches:
        lo, hi = batch[0][0], batch[-1][0]
        pool = index.read_count_between(employee_id, lo, hi)
        score = loglik(len(batch), pool, leaked, population) - cost
        if score > best.loglik:
            best = _Fit(score, [c for _, c in batch], Window(lo, hi, len(batch), pool))
    return best


def _posteriors(logliks: dict[str, float], null: float) -> dict[str, float]:
    top = max([null, *logliks.values()])
    weights = {e: math.exp(v - top) for e, v in logliks.items()}
    total = sum(weights.values()) + math.exp(null - top)
    return {e: w / total for e, w in weights.items()}


def _by_employee(readers: dict[str, list[Read]]) -> dict[str, dict[str, Read]]:
    out: dict[str, dict[str, Read]] = {}
    for customer_id, reads in readers.items():
        for read in reads:
            out.setdefault(read.employee_id, {})[customer_id] = read
    return out


def _rank_set(
    leaked: list[str], index: ReadIndex, readers: dict[str, list[Read]]
) -> tuple[dict[str, _Fit], dict[str, int], float]:
    population = max(index.population, len(leaked), 2)
    m = len(leaked)
    leaked_set = set(leaked)
    subset = {c: r for c, r in readers.items() if c in leaked_set}
    per_employee = _by_employee(subset)
    totals = index.read_counts(list(per_employee))
    fits = {
        e: _fit(e, cov, m, population, totals.get(e, len(cov)), index, windows=False)
        for e, cov in per_employee.items()
    }
    refine = sorted(fits, key=lambda e: -fits[e].loglik)[:WINDOWED_CANDIDATES]
    for e in refine:
        fits[e] = _fit(
            e, per_employee[e], m, population, totals.get(e, len(per_employee[e])), index, True
        )
    null = m * math.log(1 / population)
    return fits, totals, null


def rank(leaked: list[str], index: ReadIndex) -> Ranking:
    """Suspects for a leak of these (known, real) customers, best first."""
    leaked = sorted(set(leaked))
    if not leaked:
        return Ranking(0, [], 0.0)
    readers = index.readers(leaked)
    per_employee = _by_employee(readers)
    fits, totals, null = _rank_set(leaked, index, readers)
    if not fits:
        return Ranking(len(leaked), [], null)
    posterior = _posteriors({e: f.loglik for e, f in fits.items()}, null)
    order = sorted(fits, key=lambda e: (-fits[e].loglik, e))
    reader_count = {c: len(r) for c, r in readers.items()}

    def suspect(e: str, role: str, score: float, fit: _Fit) -> Suspect:
        cov = per_employee[e]
        return Suspect(
            employee_id=e,
            role=role,
            score=score,
            covered=len(cov),
            loglik=fit.loglik,
            reads=totals.get(e, len(cov)),
            rare=sum(1 for c in cov if reader_count[c] <= 2),
            weighted_coverage=sum(1 / reader_count[c] for c in cov)
            / sum(1 / reader_count.get(c, 1) for c in leaked),
            window=fit.window,
            covered_ids=sorted(cov),
            reads_of=cov,
        )

    primary = order[0]
    suspects = [suspect(primary, "primary", posterior[primary], fits[primary])]
    residual = [c for c in leaked if c not in set(fits[primary].covered)]
    second = _second_source(residual, index, readers, exclude=primary, candidates=len(fits))
    if second is not None:
        name, score, fit = second
        suspects.append(suspect(name, "second_source", score, fit))
    for e in order[1:]:
        if len(suspects) >= TOP:
            break
        if second is None or e != second[0]:
            suspects.append(suspect(e, "alternative", posterior[e], fits[e]))
    return Ranking(len(leaked), suspects, null)


def _second_source(
    residual: list[str],
    index: ReadIndex,
    readers: dict[str, list[Read]],
    exclude: str,
    candidates: int,
) -> tuple[str, float, _Fit] | None:
    """Someone who explains what the best suspect does not, far better than chance."""
    if len(residual) < 2:
        return None
    fits, _, null = _rank_set(residual, index, readers)
    fits.pop(exclude, None)
    fits = {e: f for e, f in fits.items() if len(f.covered) >= 2}
    if not fits:
        return None
    best = max(fits, key=lambda e: (fits[e].loglik, e))
    if fits[best].loglik - null - math.log(max(candidates, 1)) < SECOND_SOURCE_NATS:
        return None
    posterior = _posteriors({e: f.loglik for e, f in fits.items()}, null)
    return best, posterior[best], fits[best]
