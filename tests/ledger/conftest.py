"""Published RFC 6962 / C2SP vectors for the ledger tests.

The vectors live OUTSIDE the repository, in ``../shared/vectors/rfc6962.json``
relative to the repo root; they are read in place and never copied in. When the
folder is absent, every test that needs them is skipped with a message saying so.
"""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
VECTORS_PATH = REPO_ROOT / ".." / "shared" / "vectors" / "rfc6962.json"
ABSENT = (
    f"shared vectors folder is absent: {VECTORS_PATH.parent.resolve()} "
    "(expected ../shared/vectors/rfc6962.json beside the checkout)"
)


REQUIRED = os.environ.get("CUSTODES_CI") == "1"  # `.ci/run` sets it: absence is a failure


@cache
def load_vectors() -> dict[str, Any] | None:
    """The parsed vector file, or None when the shared folder is absent (outside CI)."""
    if not VECTORS_PATH.is_file():
        if REQUIRED:
            raise RuntimeError(f"CI needs the published vectors: {ABSENT}")
        return None
    with VECTORS_PATH.open(encoding="utf-8") as f:
        return json.load(f)


@pytest.fixture(scope="session")
def vectors() -> dict[str, Any]:
    """The whole vector file; skips the test when the shared folder is absent."""
    data = load_vectors()
    if data is None:
        pytest.skip(ABSENT)
    return data


# Table tests over probe lists: one test case per probe, named after its source file.
_PROBE_FIXTURES = {
    "inclusion_probe": "inclusion",
    "consistency_probe": "consistency",
}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    for fixture, section in _PROBE_FIXTURES.items():
        if fixture not in metafunc.fixturenames:
            continue
        data = load_vectors()
        if data is None:
            metafunc.parametrize(fixture, [pytest.param(None, marks=pytest.mark.skip(ABSENT))])
            continue
        probes = data["probes"][section]
        ids = [p["file"].removeprefix("testdata/").removesuffix(".json") for p in probes]
        metafunc.parametrize(fixture, probes, ids=ids)
