"""`custodes forensics attribute` end to end on a dataset folder; bad input is one line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.support.forensics import Folder


def _custodes(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CUSTODES_HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-m", "custodes.cli.main", *args], env=env, capture_output=True, text=True
    )


def test_attribute_a_folder_of_leaks(tmp_path: Path, folder: Folder) -> None:
    home = tmp_path / "home"
    assert _custodes(home, "init").returncode == 0
    leaks = tmp_path / "leaks"
    leaks.mkdir()
    who = folder.busiest()
    picked = folder.reads[who][:15]
    (leaks / "paste.txt").write_text(
        "\n".join(f"  {folder.emails[c].upper()}  " for c in picked) + "\nbroken line\n"
    )
    (leaks / "empty.txt").write_text("\n")
    out = tmp_path / "out"
    done = _custodes(
        home, "forensics", "attribute", str(leaks), "--out", str(out), "--data", str(folder.path)
    )
    assert done.returncode == 0, done.stderr
    doc = json.loads((out / "paste.json").read_text())
    assert set(doc) >= {"suspects", "matched", "unknown"}
    assert doc["matched"] == 15 and doc["unknown"] == 0 and doc["unreadable"] == 1
    top = doc["suspects"][0]
    assert set(top) >= {"employee_id", "score", "covered", "explanation", "evidence"}
    assert top["employee_id"].startswith("ep_")  # pseudonymised unless revealed
    assert all(e["source"].startswith("access.jsonl:") for e in top["evidence"])
    assert "@" not in (out / "paste.json").read_text()
    assert json.loads((out / "empty.json").read_text())["suspects"] == []
    shown = _custodes(
        home,
        "forensics",
        "attribute",
        str(leaks / "paste.txt"),
        "--out",
        str(out),
        "--data",
        str(folder.path),
        "--reveal",
        who,
    )
    assert json.loads((out / "paste.json").read_text())["suspects"][0]["employee_id"] == who
    assert shown.returncode == 0


def test_bad_input_is_one_line(tmp_path: Path, folder: Folder) -> None:
    home = tmp_path / "home"
    _custodes(home, "init")
    for args in (
        ("forensics", "attribute", str(tmp_path / "nope.txt"), "--out", str(tmp_path / "o")),
        (
            "forensics",
            "attribute",
            str(folder.path / "customers.csv"),
            "--out",
            str(tmp_path),
            "--data",
            str(tmp_path / "missing"),
        ),
    ):
        done = _custodes(home, *args)
        assert done.returncode != 0
        assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
