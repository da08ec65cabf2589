"""Published RFC 6962 / C2SP vectors, read in place from `../shared/vectors/rfc6962.json`.

The vectors live outside the repository (beside the checkout) and are never copied in. When
they are absent, a test that needs them is skipped with the reason; under CI (`CUSTODES_CI=1`,
set by `.ci/run`) it fails instead, as `CUSTODES_REQUIRE_PG=1` does for PostgreSQL, so a CI run
can never pass without having checked them. CUSTODES_TEST_VECTORS points elsewhere (the test of
this rule uses it).
"""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path
from typing import Any

import pytest

DEFAULT = Path(__file__).resolve().parents[2].parent / "shared" / "vectors" / "rfc6962.json"
# Table tests over probe lists: one test case per probe, named after its source file.
PROBE_FIXTURES = {"inclusion_probe": "inclusion", "consistency_probe": "consistency"}


def vectors_path() -> Path:
    return Path(os.environ.get("CUSTODES_TEST_VECTORS") or DEFAULT)


def required() -> bool:
    return os.environ.get("CUSTODES_CI") == "1"


def absent(path: Path) -> str:
    return (
        f"the shared vectors are absent: {path.resolve()} "
        "(expected ../shared/vectors/rfc6962.json beside the checkout)"
    )


@cache
def _read(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    with path.open(encoding="utf-8") as handle:
        data: dict[str, Any] = json.load(handle)
    return data


def require_vectors(path: Path, must: bool) -> dict[str, Any]:
    """The parsed vectors; fails (under CI) or skips (elsewhere) the test when they are absent."""
    data = _read(path)
    if data is None:
        if must:
            pytest.fail(f"CI needs the published vectors: {absent(path)}", pytrace=False)
        pytest.skip(absent(path))
    return data


@pytest.fixture(scope="session")
def vectors() -> dict[str, Any]:
    return require_vectors(vectors_path(), required())


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    for fixture, section in PROBE_FIXTURES.items():
        if fixture not in metafunc.fixturenames:
            continue
        data = _read(vectors_path())
        if data is None:
            # One case, whose fixture fails or skips it as `vectors` does.
            metafunc.parametrize(fixture, [None], ids=["vectors-absent"], indirect=True)
            continue
        probes = data["probes"][section]
        ids = [p["file"].removeprefix("testdata/").removesuffix(".json") for p in probes]
        metafunc.parametrize(fixture, probes, ids=ids, indirect=True)


def _probe(request: pytest.FixtureRequest) -> dict[str, Any]:
    if request.param is None:
        require_vectors(vectors_path(), required())
    probe: dict[str, Any] = request.param
    return probe


@pytest.fixture
def inclusion_probe(request: pytest.FixtureRequest) -> dict[str, Any]:
    return _probe(request)


@pytest.fixture
def consistency_probe(request: pytest.FixtureRequest) -> dict[str, Any]:
    return _probe(request)
