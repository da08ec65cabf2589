"""`custodes demo`: the story so far, on an embedded SQLite database under its own folder.

Each run starts from nothing (new keys, new database) so it can be repeated and scripted. The
one-door part of the story (reveals, a denial, dual control) is `demo_story`.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from custodes.cli.demo_story import tell_story
from custodes.config import Settings
from custodes.dataset.loader import import_dataset
from custodes.errors import InputError
from custodes.forensics.canaries import canary_ids
from custodes.marketplace.models import Case, Customer, Employee, Order, Review, Seller
from custodes.sim import SimConfig, generate
from custodes.store.engine import make_engine
from custodes.store.migrate import upgrade
from custodes.vault.keyring import FileKeyring
from custodes.vault.service import masked_view, vault_stats


@dataclass(frozen=True)
class DemoOptions:
    home: Path
    seed: int = 7
    customers: int = 2000
    employees: int = 60
    days: int = 14


DEMO_MARKER = ".custodes-demo"


def _replace_demo_home(home: Path) -> None:
    """Start from an empty folder, but only ever delete one an earlier demo made: pointed at a
    real home by mistake, the demo would otherwise destroy its keyring and database."""
    if home.exists():
        if not home.is_dir() or (any(home.iterdir()) and not (home / DEMO_MARKER).exists()):
            raise InputError(
                f"{home} is not a demo folder (no {DEMO_MARKER} marker); not touching it"
            )
        shutil.rmtree(home)
    home.mkdir(parents=True)
    (home / DEMO_MARKER).write_text("made by `custodes demo`; the next demo replaces this folder\n")


def run_demo(options: DemoOptions, console: Console) -> dict[str, int]:
    """Generate, encrypt, import and summarise a small marketplace; returns the counts shown."""
    _replace_demo_home(options.home)
    settings = Settings(home=options.home, database_url=f"sqlite:///{options.home / 'custodes.db'}")
    keyring = FileKeyring.create(settings.keys_dir)
    engine = make_engine(settings.database_url)
    upgrade(engine)
    console.print(f"[bold]1.[/] keys and database under {options.home} (KEK v1, SQLite, WAL)")

    data_dir = options.home / "dataset"
    generate(
        data_dir,
        SimConfig(
            seed=options.seed,
            customers=options.customers,
            employees=options.employees,
            days=options.days,
        ),
    )
    console.print(f"[bold]2.[/] synthetic marketplace written to {data_dir} (seed {options.seed})")
    report = import_dataset(engine, data_dir, keyring)
    # The plaintext dataset has served its purpose: PII must not linger outside the vault.
    shutil.rmtree(data_dir)
    console.print("[bold]3.[/] imported; PII sealed in the vault, plaintext dataset deleted")

    canaries = canary_ids(engine)  # synthetic people: never counted as customers
    with Session(engine) as session:
        counts = {
            "customers": _count(session, Customer) - len(canaries),
            "employees": _count(session, Employee),
            "sellers": _count(session, Seller),
            "orders": _count(session, Order),
            "reviews": _count(session, Review),
            "cases": _count(session, Case),
            "access events": report.counts["access"],
        }
        stats = vault_stats(session, canaries)
        sample_ids = list(
            session.scalars(select(Customer.customer_id).order_by(Customer.customer_id).limit(3))
        )
        sample = masked_view(session, sample_ids)

    table = Table(title="marketplace")
    table.add_column("what")
    table.add_column("count", justify="right")
    for name, value in {**counts, **{f"vault {k}": v for k, v in stats.items()}}.items():
        table.add_row(name, str(value))
    console.print(table)
    tell_story(engine, keyring, settings, console)
    masked = Table(title="masked sample (what search results show)")
    for column in ("customer", "pseudonym", "name", "email", "phone"):
        masked.add_column(column)
    for row in sample:
        masked.add_row(row.customer_id, row.pseudonym, row.name, row.email, row.phone)
    console.print(masked)
    engine.dispose()
    return counts


def _count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0
