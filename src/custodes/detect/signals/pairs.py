"""Recurring pairs: one person's cases (or approvals) repeatedly covering another's access.

In a dataset folder the only hand-off is the case: an access citing a case held by someone
else who is not the reader's report. Each such (reader, holder) pair is counted in distinct
cases over two weeks and both people get the signal. Ledgered decisions also carry
``approver_id``; (requester, approver) pairs are counted the same way against a higher floor,
since approvals by the same few colleagues are normal.
"""

from __future__ import annotations

import ibis
from ibis import _

from custodes.detect.features import Features
from custodes.detect.signals.base import SignalOutput, capped, daily_rows, poisson_surprise

NAME = "recurring_pair"
WINDOW = 14
CASE_FLOOR, APPROVAL_FLOOR = 0.1, 3.0
WEIGHT, CAP = 1.0, 6.0


def _handoffs(f: Features) -> ibis.Table:
    """(reader, partner, day, ts, event_id, token, floor) for each cross-person access."""
    ev = f.ev.filter(_.case_id.notnull())
    k = f.cases.select(c_id=_.case_id, holder=_.employee_id)
    x = ev.join(k, ev.case_id == k.c_id).filter(k.holder != ev.employee_id)
    x = x.select(
        reader=ev.employee_id,
        partner=k.holder,
        day=ev.day,
        ts=ev.ts,
        event_id=ev.event_id,
        token=ev.case_id,
    )
    ch = f.chain
    x = x.anti_join(ch, [x.reader == ch.boss_id, x.partner == ch.report_id])
    x = x.mutate(floor=ibis.literal(CASE_FLOOR))
    ap = f.ev.filter(_.approver_id.notnull() & (_.approver_id != _.employee_id))
    a = ap.select(
        reader=ap.employee_id,
        partner=ap.approver_id,
        day=ap.day,
        ts=ap.ts,
        event_id=ap.event_id,
        token=ap.event_id.cast("string"),
        floor=ibis.literal(APPROVAL_FLOOR),
    )
    return x.union(a)


def compute(f: Features) -> list[SignalOutput]:
    h = f.engine.materialize("handoffs", _handoffs(f))
    fire = h.group_by(["reader", "partner", "day"]).agg(fire_ts=_.ts.max(), floor=_.floor.max())
    f2 = fire.select(
        f_reader=_.reader, f_partner=_.partner, f_day=_.day, f_ts=_.fire_ts, f_floor=_.floor
    )
    win = f2.join(
        h,
        [
            f2.f_reader == h.reader,
            f2.f_partner == h.partner,
            h.day <= f2.f_day,
            h.day > f2.f_day - WINDOW,
        ],
    )
    per = win.group_by([f2.f_reader, f2.f_partner, f2.f_day]).agg(
        k=h.token.nunique(), fire_ts=f2.f_ts.max(), lam=f2.f_floor.max()
    )
    cols = {"day": _.f_day, "k": _.k, "fire_ts": _.fire_ts, "lam": _.lam}
    both = per.select(employee_id=_.f_reader, partner=_.f_partner, **cols).union(
        per.select(employee_id=_.f_partner, partner=_.f_reader, **cols)
    )
    w = ibis.window(
        group_by=[both.employee_id, both.day], order_by=[ibis.desc(both.k), both.partner]
    )
    top = both.mutate(_r=ibis.row_number().over(w)).filter(_._r == 0)
    out = daily_rows(
        top,
        NAME,
        top.k,
        top.lam,
        capped(WEIGHT, CAP, poisson_surprise(top.k, top.lam)),
        top.fire_ts,
        ref=top.partner,
    )
    evid = h.select(employee_id=_.reader, day=_.day, ts=_.ts, event_id=_.event_id).union(
        h.select(employee_id=_.partner, day=_.day, ts=_.ts, event_id=_.event_id)
    )
    ev = evid.select(
        employee_id=evid.employee_id,
        day=evid.day,
        signal=ibis.literal(NAME),
        source=ibis.literal("event"),
        ref_id=evid.event_id.cast("int64"),
        ts=evid.ts,
        window=ibis.literal(WINDOW).cast("int64"),
    )
    return [SignalOutput(out, ev)]
