"""`custodes import`: --quarantine, --delete-source and the note about the plaintext folder."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.cli import custodes
from tests.support.dataset import PII_VALUES, write_dataset


def test_quarantine_file_and_plaintext_note(tmp_path: Path) -> None:
    home, folder = tmp_path / "home", write_dataset(tmp_path / "ds")
    custodes(home, "init")
    with (folder / "products.csv").open("a") as handle:
        handle.write("P3,S404,home,Orphan\n")
    quarantine = tmp_path / "rejected.jsonl"
    # All or nothing without the flag ...
    refused = custodes(home, "import", str(folder), ok=False)
    assert "products.csv:4: unknown seller_id 'S404'" in refused.stderr
    # ... the valid rows with it, and the rejected ones' place and reason in the file.
    done = custodes(home, "import", str(folder), "--quarantine", str(quarantine))
    assert "products=2" in done.stdout and "rejected 1 row(s)" in done.stdout
    assert "still on disk" in done.stdout and folder.is_dir()
    rows = [json.loads(line) for line in quarantine.read_text().splitlines()]
    assert rows == [{"file": "products.csv", "line": 4, "reason": "unknown seller_id 'S404'"}]
    text = quarantine.read_text() + done.stdout + done.stderr
    assert not any(value in text for value in PII_VALUES)


def test_delete_source_removes_the_plaintext(tmp_path: Path) -> None:
    home, folder = tmp_path / "home", write_dataset(tmp_path / "ds")
    custodes(home, "init")
    done = custodes(home, "import", str(folder), "--delete-source")
    assert "deleted the plaintext folder" in done.stdout
    assert not folder.exists()


def test_quarantine_inside_the_folder_is_refused(tmp_path: Path) -> None:
    home, folder = tmp_path / "home", write_dataset(tmp_path / "ds")
    custodes(home, "init")
    result = custodes(
        home, "import", str(folder), "--quarantine", str(folder / "q.jsonl"), ok=False
    )
    assert "outside the dataset folder" in result.stderr


def test_progress_is_drawn_only_on_a_terminal() -> None:
    import io

    from rich.console import Console

    from custodes.cli.dataset_commands import progress_bar

    assert progress_bar(Console(file=io.StringIO(), force_terminal=False)).disable
    shown = io.StringIO()
    with progress_bar(Console(file=shown, force_terminal=True, width=80)) as bar:
        task = bar.add_task("importing customers", total=10)
        bar.update(task, advance=10)
    assert "importing customers" in shown.getvalue()
