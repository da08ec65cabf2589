"""Features as Ibis expressions: explained reads, the employee-day grid and peer baselines.

Explanation-based auditing (Fabbri & LeFevre, "Explanation-based auditing", VLDB 2011): a read
of a customer is *explained* when the database holds a path from the employee to that customer
at that time. Paths used here:

- ``case``: the employee holds a case on the customer, open at the time (1 h before opening to
  ``GRACE`` after closing), or the read cites that case and it was opened within
  ``DOCUMENTED_S`` after the read;
- ``seller_case``: the employee holds a case on a seller the customer bought from or reviewed;
- ``chain``: the employee manages (directly, or one level up) whoever holds a case on the
  customer, opened before the read (quality review).

Masked searches are not reads (they reveal nothing), so they are left out of "reads" and of the
explained share. Everything here is relational: joins, group-bys and window functions that run
unchanged on DuckDB and on Spark.
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis
import pyarrow as pa
from ibis import _
from ibis.expr.types import Table

from custodes.detect.engine import Engine
from custodes.detect.inputs import Inputs
from custodes.detect.spark_inputs import SparkInputs

DAY_S = 86_400
HOUR_S = 3_600
GRACE_S = 2 * DAY_S
"""Reads this long after a case closed are still explained (follow-ups, reopenings)."""
DOCUMENTED_S = DAY_S
"""A read citing the reader's own case on that customer is explained if the case was opened up
to this long after it: work done first and written up later (a call-out at night, documented
in the morning). Without the citation only the hour before opening counts."""
FAR = 2**62
SEARCH = "customer.search"


@dataclass
class Features:
    """Registered inputs plus the derived tables every signal builds on."""

    engine: Engine
    ev: Table  # events + day, hour
    employees: Table
    cases: Table
    orders: Table
    reviews: Table
    products: Table
    signals: Table
    customers: Table
    cs: Table  # (customer_id, seller_id): bought from or reviewed
    chain: Table  # (boss_id, report_id): direct manager or one level up
    reads: Table  # one row per (event, customer) read, with ``explained``/``path``/``first``
    grid: Table  # one row per employee per day employed: employee_id, day, role, team
    first_day: int
    last_day: int


def day_of(ts: ibis.Value) -> ibis.Value:
    return (ts // DAY_S).cast("int64")


def _chain(employees: Table) -> Table:
    e1 = employees.select(report_id=_.employee_id, boss_id=_.manager_id).filter(_.boss_id.notnull())
    e2 = employees.select(mid_id=_.employee_id, top_id=_.manager_id).filter(_.top_id.notnull())
    up = e1.join(e2, e1.boss_id == e2.mid_id).select(boss_id=e2.top_id, report_id=e1.report_id)
    return e1.union(up).distinct()


def _case_windows(cases: Table) -> Table:
    """Each case as (holder, customer, seller) and the span it explains reads in."""
    return cases.select(
        k_emp=_.employee_id,
        k_cust=_.customer_id,
        k_seller=_.seller_id,
        k_open=_.opened_ts - HOUR_S,
        k_close=_.closed_ts.fill_null(FAR - GRACE_S) + GRACE_S,
    )


def _other_paths(rest: Table, k: Table, cs: Table, chain: Table) -> Table:
    """(event_id, customer_id, path) for reads no own case explains; path null if none does.

    The path is the first that applies in the order ``chain``, ``seller_case`` (after ``case``,
    which ``rest`` already lacks). Only the few reads left get here, so the seller path's fan-out
    (every seller a customer is tied to) stays small.
    """
    keys = ["event_id", "customer_id"]
    kc = k.filter(k.k_cust.notnull())
    kr = kc.join(chain, kc.k_emp == chain.report_id).select(
        boss_id=chain.boss_id, k_cust=kc.k_cust, k_open=kc.k_open
    )
    by_chain = rest.semi_join(
        kr, [rest.employee_id == kr.boss_id, rest.customer_id == kr.k_cust, rest.ts >= kr.k_open]
    ).select(*keys, c_path=ibis.literal("chain"))
    ks = k.filter(k.k_seller.notnull())
    rcs = rest.join(cs, rest.customer_id == cs.customer_id).select(
        rest.event_id, rest.customer_id, rest.employee_id, rest.ts, cs.seller_id
    )
    by_seller = (
        rcs.semi_join(
            ks,
            [
                rcs.employee_id == ks.k_emp,
                rcs.seller_id == ks.k_seller,
                rcs.ts >= ks.k_open,
                rcs.ts <= ks.k_close,
            ],
        )
        .select(*keys)
        .distinct()
        .mutate(s_path=ibis.literal("seller_case"))
    )
    paths = rest.select(*keys).left_join(by_chain, keys).left_join(by_seller, keys)
    return paths.select(
        r_event=paths.event_id,
        r_cust=paths.customer_id,
        r_path=paths.c_path.fill_null(paths.s_path),
    ).distinct()


def _explained(engine: Engine, ec: Table, cases: Table, cs: Table, chain: Table) -> Table:
    """``ec`` with ``path``: the first of case, chain, seller_case that explains it (or null).

    Nearly every read is explained by the reader's own case, so that test runs as one anti-join
    over all reads and the other paths only look at the few it leaves (kept as a table).
    """
    k = _case_windows(cases)
    kc = k.filter(k.k_cust.notnull())
    rest = ec.anti_join(
        kc,
        [
            ec.employee_id == kc.k_emp,
            ec.customer_id == kc.k_cust,
            ec.ts >= kc.k_open,
            ec.ts <= kc.k_close,
        ],
    )
    cited = cases.filter(cases.customer_id.notnull())
    rest = rest.anti_join(
        cited,
        [
            rest.case_id == cited.case_id,
            rest.employee_id == cited.employee_id,
            rest.customer_id == cited.customer_id,
            rest.ts >= cited.opened_ts - DOCUMENTED_S,
            rest.ts <= cited.opened_ts,
        ],
    ).select("event_id", "customer_id", "employee_id", "ts")
    other = _other_paths(engine.materialize("unexplained_by_case", rest), k, cs, chain)
    j = ec.left_join(other, [ec.event_id == other.r_event, ec.customer_id == other.r_cust])
    path = ibis.ifelse(other.r_event.isnull(), ibis.literal("case"), other.r_path)
    return j.select(*[ec[c] for c in ec.columns], path=path)


def _reads(engine: Engine, ev: Table, links: Table, cases: Table, cs: Table, chain: Table) -> Table:
    """One row per (event, customer) read, explained or not, and whether it was the first."""
    ec = (
        links.join(ev, links.event_id == ev.event_id)
        .filter(ev.action != SEARCH)
        .select(
            links.event_id,
            links.customer_id,
            ev.employee_id,
            ev.ts,
            ev.day,
            ev.action,
            ev.reveal,
            ev.case_id,
        )
    )
    reads = _explained(engine, ec, cases, cs, chain)
    reads = reads.mutate(explained=reads.path.notnull())
    first_w = ibis.window(
        group_by=[reads.employee_id, reads.customer_id], order_by=[reads.ts, reads.event_id]
    )
    reads = reads.mutate(first=ibis.row_number().over(first_w) == 0)
    return engine.materialize("reads", reads)


def _grid(engine: Engine, employees: Table, first_day: int, last_day: int) -> Table:
    """One row per employee per day employed (employee_id, day, role, team, left_ts)."""
    days = engine.register(
        "days", pa.table({"day": pa.array(range(first_day, last_day + 1), pa.int64())})
    )
    emp = employees.select("employee_id", "role", "team", "hired_ts", "left_ts")
    grid = (
        emp.cross_join(days)
        .filter(
            emp.hired_ts.isnull() | (emp.hired_ts < (days.day + 1) * DAY_S),
            emp.left_ts.isnull() | (emp.left_ts > days.day * DAY_S),
        )
        .select("employee_id", "day", "role", "team", "left_ts")
    )
    return engine.materialize("grid", grid)


def build_features(engine: Engine, inputs: Inputs | SparkInputs) -> Features:
    """Register ``inputs`` on ``engine`` and derive (and materialise) the shared features."""
    t = engine.inputs(inputs)
    ev = engine.derive(
        "ev", t["events"].mutate(day=day_of(_.ts), hour=((_.ts % DAY_S) // HOUR_S).cast("int64"))
    )
    bounds = engine.fetch(ev.aggregate(lo=ev.day.min(), hi=ev.day.max())).iloc[0]
    empty = bounds.isna().any()
    first_day = 0 if empty else int(bounds["lo"])
    last_day = -1 if empty else int(bounds["hi"])
    employees = t["employees"]
    o, r = t["orders"], t["reviews"]
    cs = engine.materialize(
        "cs",
        o.select("customer_id", "seller_id").union(r.select("customer_id", "seller_id")).distinct(),
    )
    chain = engine.materialize("chain", _chain(employees))
    reads = _reads(engine, ev, t["event_customers"], t["cases"], cs, chain)
    grid = _grid(engine, employees, first_day, last_day)
    return Features(
        engine=engine,
        ev=ev,
        employees=employees,
        cases=t["cases"],
        orders=o,
        reviews=r,
        products=t["products"],
        signals=t["signals"],
        customers=t["customers"],
        cs=cs,
        chain=chain,
        reads=reads,
        grid=grid,
        first_day=first_day,
        last_day=last_day,
    )


def explained_share(f: Features) -> dict[str, float | int]:
    """Share of reads explained, overall and among first reads of a customer by an employee."""
    r = f.reads
    row = f.engine.fetch(
        r.aggregate(
            reads=r.count(),
            explained=r.explained.cast("int64").sum(),
            first=r.first.cast("int64").sum(),
            first_explained=(r.first & r.explained).cast("int64").sum(),
        )
    ).iloc[0]
    reads, first = int(row["reads"]), int(row["first"] or 0)
    return {
        "reads": reads,
        "explained_share": round(float(row["explained"] or 0) / reads, 4) if reads else 1.0,
        "first_reads": first,
        "first_explained_share": (
            round(float(row["first_explained"] or 0) / first, 4) if first else 1.0
        ),
    }
