"""The likelihood model on hand-made read indexes: rarity, breadth, batches, two sources."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from custodes.forensics.model import loglik, rank
from custodes.forensics.reads import MemoryReads

T0 = datetime(2026, 1, 5, tzinfo=UTC)


def index(
    reads: dict[str, list[str]], population: int = 10_000, spread: bool = True
) -> MemoryReads:
    out = MemoryReads(population)
    for employee, customers in sorted(reads.items()):
        for i, customer in enumerate(customers):
            t = T0 + (timedelta(days=i) if spread else timedelta(minutes=i))
            out.add(employee, customer, t, f"access.jsonl:{i + 1}")
    return out


def cs(lo: int, hi: int) -> list[str]:
    return [f"C{i:05d}" for i in range(lo, hi)]


def test_broad_reader_loses_to_the_one_who_read_exactly_the_leak() -> None:
    reads = {"narrow": cs(0, 20), "broad": cs(0, 2000)}
    ranking = rank(cs(0, 20), index(reads))
    assert [s.employee_id for s in ranking.suspects][:2] == ["narrow", "broad"]
    assert ranking.suspects[0].score > 0.99


def test_rare_customers_outweigh_common_ones() -> None:
    # Everyone read C0-C9; only "a" read C10-C14, only "b" read C15.
    shared = cs(0, 10)
    reads = {"a": shared + cs(10, 15), "b": shared + cs(15, 16), "c": shared}
    ranking = rank(cs(0, 15), index(reads))
    assert ranking.suspects[0].employee_id == "a"
    assert ranking.suspects[0].rare == 5


def test_a_batch_beats_the_same_coverage_spread_over_a_month() -> None:
    batch = index({"x": cs(0, 300)}, spread=False)
    # x read 300 customers: the 30 leaked ones in one sitting on day 40, the rest daily.
    for i, customer in enumerate(cs(300, 330)):
        batch.add("x", customer, T0 + timedelta(days=40, minutes=i), "access.jsonl:9")
    ranking = rank(cs(300, 330), batch)
    window = ranking.suspects[0].window
    assert window is not None and window.covered == 30 and window.reads == 30


def test_two_sources_in_one_list_are_both_reported() -> None:
    reads = {"a": cs(0, 40), "b": cs(100, 130), "c": cs(500, 900)}
    ranking = rank(cs(0, 40) + cs(100, 130), index(reads))
    roles = {s.employee_id: s.role for s in ranking.suspects}
    assert roles["a"] == "primary" and roles["b"] == "second_source"


def test_noise_alone_reports_no_second_source() -> None:
    reads = {
        "a": cs(0, 50),
        **{f"n{i}": [f"N{i}", *cs(1000 + 50 * i, 1050 + 50 * i)] for i in range(5)},
    }
    ranking = rank(cs(0, 45) + [f"N{i}" for i in range(5)], index(reads))
    assert ranking.suspects[0].employee_id == "a"
    assert all(s.role != "second_source" for s in ranking.suspects)


def test_unknown_readers_and_empty_leaks() -> None:
    assert rank([], index({"a": cs(0, 3)})).suspects == []
    assert rank(cs(50, 60), index({"a": cs(0, 3)})).suspects == []


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 200), st.integers(0, 200), st.integers(1, 10_000), st.integers(1, 1_000_000))
def test_loglik_prefers_coverage_and_small_pools(
    leaked: int, covered: int, pool: int, n: int
) -> None:
    covered = min(covered, leaked)
    pool = max(pool, covered + 1)
    population = 100 * max(n, pool, leaked)  # a reader reads a small part of the customers
    value = loglik(covered, pool, leaked, population)
    assert value <= 0
    if leaked / 2 <= covered < leaked:  # beyond chance, covering one more always helps
        assert loglik(covered + 1, pool, leaked, population) > value
    assert loglik(covered, pool + 1, leaked, population) <= value + 1e-9  # reading more does not


@settings(max_examples=30, deadline=None)
@given(st.lists(st.sampled_from(cs(0, 60)), min_size=1, max_size=80), st.randoms())
def test_order_and_duplicates_do_not_matter(leak: list[str], rnd) -> None:
    idx = index({"a": cs(0, 30), "b": cs(20, 60), "c": cs(0, 60)})
    shuffled = list(leak) * 2
    rnd.shuffle(shuffled)
    first, second = rank(leak, idx), rank(shuffled, idx)
    assert [(s.employee_id, round(s.score, 9)) for s in first.suspects] == [
        (s.employee_id, round(s.score, 9)) for s in second.suspects
    ]
    assert all(0.0 <= s.score <= 1.0 for s in first.suspects)
