"""A tiny hand-written dataset folder that exercises every file of the format."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.dataset import write_dataset


@pytest.fixture
def dataset_dir(tmp_path: Path) -> Path:
    return write_dataset(tmp_path / "dataset")
