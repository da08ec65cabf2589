"""Detection from the database's imported tables gives the alerts the folder gives."""

from __future__ import annotations

from pathlib import Path

from custodes.dataset.loader import import_dataset
from custodes.detect.engine import connect
from custodes.detect.inputs import load_database, load_folder
from custodes.detect.pipeline import Settings, run
from custodes.store.engine import make_engine
from custodes.store.migrate import upgrade
from custodes.vault.keyring import FileKeyring


def test_database_input_matches_folder(labelled, tmp_path: Path) -> None:
    folder = labelled[0]
    engine = make_engine(f"sqlite:///{tmp_path / 'c.db'}")
    upgrade(engine)
    import_dataset(engine, folder, FileKeyring.open_or_create(tmp_path / "keys"))
    from_db = load_database(engine)
    from_folder = load_folder(folder)
    assert from_db.counts() == from_folder.counts()
    settings = Settings(evidence=False)
    duck = connect("duckdb")
    try:
        a = run(from_db, duck, settings)
        b = run(from_folder, duck, settings)
    finally:
        duck.close()
    key = [(x.employee_id, x.day, x.score) for x in a.alerts]
    assert key == [(x.employee_id, x.day, x.score) for x in b.alerts]
