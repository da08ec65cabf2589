"""One small labelled world per test session, shared by the detection tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from custodes.sim.scenarios import generate_labelled, read_labels
from tests.support.detect import KEY, SMALL  # noqa: F401


@pytest.fixture(scope="session")
def labelled(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    base = tmp_path_factory.mktemp("detect")
    folder, labels = base / "data", base / "labels.json"
    generate_labelled(folder, labels, SMALL)
    return folder, read_labels(labels)
