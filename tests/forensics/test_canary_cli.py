"""`custodes canary stock` makes canaries ahead; they are nobody's until an exposure takes them,
and `keys status` does not count them as customers."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from custodes.forensics.models import Canary
from custodes.store.engine import make_engine


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "custodes.cli.main", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_runtime_installs_the_canary_hook(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """What `custodes serve` builds its app from carries the exposure hook."""
    from custodes.forensics.exposures import CanaryExposures
    from custodes.runtime import Runtime

    env = {**os.environ, "CUSTODES_HOME": str(tmp_path / "home")}
    assert _run(env, "init").returncode == 0
    monkeypatch.setenv("CUSTODES_HOME", str(tmp_path / "home"))
    assert isinstance(Runtime.from_env().services().exposures, CanaryExposures)


def test_stocked_canaries_are_unassigned_and_not_counted(tmp_path: Path) -> None:
    env = {**os.environ, "CUSTODES_HOME": str(tmp_path / "home")}
    assert _run(env, "init").returncode == 0
    before = _run(env, "keys", "status")
    made = _run(env, "canary", "stock", "--count", "5")
    assert made.returncode == 0, made.stderr
    assert "5 canaries stocked" in made.stdout
    engine = make_engine(f"sqlite:///{tmp_path / 'home' / 'custodes.db'}")
    with Session(engine) as session:
        rows = session.execute(select(Canary.exposure_id)).all()
    assert len(rows) == 5 and all(r.exposure_id is None for r in rows)
    after = _run(env, "keys", "status")
    assert "records=0" in before.stdout and "records=0" in after.stdout
    assert "synthetic=5" in after.stdout
    bad = _run(env, "canary", "stock", "--count", "0")
    assert bad.returncode != 0 and len(bad.stderr.strip().splitlines()) == 1
