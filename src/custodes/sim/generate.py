"""Generate a deterministic synthetic marketplace and write it as a dataset folder.

``generate(out_dir, SimConfig(...))`` = ``write(build(config), out_dir)``. ``build`` returns a
``World`` of in-memory lists so insider scenarios can add cases, access events (through
``world.log``) and signals before ``write``. Same config, same bytes: nothing reads the clock
and every random choice comes from streams seeded by ``config.seed``.

Files written (UTF-8; CSV with a header row in this column order, ``\\n`` line endings, empty
cell = null; times ISO 8601 UTC with whole seconds, e.g. ``2026-01-05T09:13:00Z``):

``employees.csv``
    employee_id (``E0001``), name, role (support_agent, seller_support, trust_safety,
    data_analyst, engineer, manager, privacy_officer, investigator), team, manager_id (empty
    only for the head of operations), hired_at, left_at (mostly empty), region (office, ISO
    3166-2: US-WA, US-TX, IE-D, DE-BE, IN-KA, PH-00).
``customers.csv``
    customer_id (``C000001``, in signup order), name (in the customer's script), email
    (unique, lowercase), phone (E.164, valid for the country; ~6% empty), country (ISO 3166-1
    alpha-2), region (ISO 3166-2 subdivision, e.g. US-CA, GB-SCT, JP-13), language (BCP 47,
    e.g. en-US, fr-CA), created_at (before the window).
``sellers.csv``
    seller_id (``S0001``), name, status (active, suspended, banned), country, created_at,
    banned_at (when the current suspension or ban began; empty for active sellers).
``products.csv``
    product_id (``P00001``), seller_id, category, title.
``orders.csv``
    order_id (``O000001``, chronological), customer_id, product_id, seller_id, ordered_at
    (from 180 days before the window to its end).
``reviews.csv``
    review_id (``R000001``), customer_id, product_id, seller_id (of an earlier order by that
    customer), rating (1–5, mostly 5 and 4), created_at, status (published, removed),
    removed_at, removed_by (the trust_safety employee whose review_report case removed it).
``cases.csv``
    case_id (``K000001``, in opening order), kind (customer_contact, order_dispute,
    review_report, seller_appeal, seller_support, investigation), employee_id, customer_id,
    seller_id, opened_at, closed_at (empty while open).
``access.jsonl``
    one access per line, in time order, within ``[start, end)``; every key present:
    ``{"time", "employee_id", "action", "customer_ids": [...], "seller_id", "product_id",
    "review_id", "case_id", "fields": [...], "justification"}`` (``null`` for absent scalars,
    ``[]`` for empty lists). ``justification`` is the case kind for case work, otherwise one
    of ``activity.ROUTINE_JUSTIFICATIONS``.
``signals.jsonl``
    ``{"time", "kind", "seller_id", "customer_id", "email"}`` per line; empty in the baseline
    (scenarios append to ``World.signals``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from custodes.sim.activity import ActivityLog
from custodes.sim.baseline import Baseline
from custodes.sim.catalog import make_orders, make_products, make_reviews, make_sellers
from custodes.sim.config import SimConfig
from custodes.sim.people import Employee, NameBook, make_customers, make_employees
from custodes.sim.roster import Roster
from custodes.sim.world import World
from custodes.sim.writer import SimSummary, write_world

__all__ = ["World", "build", "generate", "write"]


def build(
    config: SimConfig, *, adjust: Callable[[SimConfig, list[Employee]], None] | None = None
) -> World:
    """Build the baseline marketplace (no insiders) in memory.

    ``adjust`` may change employees (hire dates, shifts) before any work is simulated, so
    scenarios such as new-hire cohorts or night shifts get ordinary work that fits them.
    """
    names = NameBook(config.seed)
    employees = make_employees(config, names)
    if adjust is not None:
        adjust(config, employees)
    customers = make_customers(config, names)
    sellers = make_sellers(config, names)
    products = make_products(config, sellers)
    orders = make_orders(config, customers, sellers, products)
    reviews = make_reviews(config, customers, orders, sellers)
    roster = Roster(config, employees)
    log = ActivityLog()
    # Ordinary cases and accesses of every role; marks reviews removed by T&S cases.
    Baseline(
        config,
        employees=employees,
        customers=customers,
        sellers=sellers,
        products=products,
        orders=orders,
        reviews=reviews,
        roster=roster,
        log=log,
    ).run()
    return World(config, employees, customers, sellers, products, orders, reviews, roster, log)


def write(world: World, out_dir: Path) -> SimSummary:
    """Write ``world`` as a dataset folder; returns row counts per file."""
    return write_world(world, Path(out_dir))


def generate(out_dir: Path, config: SimConfig | None = None) -> SimSummary:
    """Build the baseline marketplace for ``config`` and write it to ``out_dir``."""
    return write(build(config or SimConfig()), out_dir)
