"""A custodes home whose database is the test backend's, with privacy officers E9 and E8 and a
loopback identity provider: for CLI commands an officer runs on their own proof (an ID token
in a file)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, select

from custodes.ledger.models import LedgerEntryRow
from tests.support.cli import ORIGIN, Result, check, home_env, invoke
from tests.support.dataset import write_dataset
from tests.support.idp import Provider, oidc_env, running_provider

OFFICERS = (
    "E9,Priya Privacy,privacy_officer,legal,,2020-01-01T00:00:00Z,,EU\n"
    "E8,Pat Privacy,privacy_officer,legal,,2020-01-01T00:00:00Z,,EU\n"
)


@dataclass
class Office:
    home: Path
    db_url: str
    provider: Provider
    tmp: Path

    def run(self, *args: str, oidc: bool = True, ok: bool = True) -> Result:
        env = home_env(self.home, CUSTODES_LEDGER_ORIGIN=ORIGIN, CUSTODES_DATABASE_URL=self.db_url)
        if oidc:
            env.update(oidc_env(self.provider))
        result = invoke(list(args), env)
        check(result, ok)
        return result

    def run_as(
        self, args: list[str], token: str | None, oidc: bool = True, ok: bool = False
    ) -> Result:
        """`args`, with `token` (when given) as the officer's ID token file; never echoed."""
        if token is not None:
            path = self.tmp / "id_token"
            path.write_text(token + "\n")
            args = [*args, "--id-token-file", str(path)]
        result = self.run(*args, oidc=oidc, ok=ok)
        if token is not None:
            assert token not in result.stderr + result.stdout
        return result

    def entries(self, action: str) -> list[dict[str, object]]:
        engine = create_engine(self.db_url)
        try:
            with engine.connect() as conn:
                rows = conn.execute(select(LedgerEntryRow.data).order_by(LedgerEntryRow.idx))
                entries = [json.loads(data) for data in rows.scalars()]
        finally:
            engine.dispose()
        return [e for e in entries if e["action"] == action]


@contextmanager
def office_home(tmp_path: Path, db_url: str) -> Iterator[tuple[Path, Provider]]:
    """Initialise the home and import the small dataset plus the two officers."""
    folder = write_dataset(tmp_path / "ds")
    with (folder / "employees.csv").open("a") as employees:
        employees.write(OFFICERS)
    with running_provider() as provider:
        office = Office(tmp_path / "home", db_url, provider, tmp_path)
        office.run("init", oidc=False)
        office.run("import", str(folder), oidc=False)
        yield office.home, provider
