"""The vector tests skip with the reason when ../shared/vectors is absent, and fail under CI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PYTEST = [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", "-p", "no:xdist"]


def _ledger_tests(tmp_path: Path, ci: bool) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CUSTODES_TEST_VECTORS": str(tmp_path / "absent" / "rfc6962.json")}
    env.pop("CUSTODES_CI", None)
    if ci:
        env["CUSTODES_CI"] = "1"
    return subprocess.run(
        [*PYTEST, "tests/ledger/test_tlog_proof.py", "tests/ledger/test_proof.py"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.slow  # two pytest runs in processes of their own
def test_absent_vectors_skip_with_the_reason_and_fail_under_ci(tmp_path: Path) -> None:
    outside = _ledger_tests(tmp_path, ci=False)
    assert outside.returncode == 0, outside.stdout[-2000:]
    assert "skipped" in outside.stdout and "the shared vectors are absent" in outside.stdout
    under_ci = _ledger_tests(tmp_path, ci=True)
    assert under_ci.returncode == 1, under_ci.stdout[-2000:]
    assert "CI needs the published vectors" in under_ci.stdout
    assert " passed" in under_ci.stdout  # the tests that need no vectors still ran
