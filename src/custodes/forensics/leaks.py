"""Leaked lists as found: files (or folders of *.txt) with one e-mail address per line.

Any case, surrounding whitespace, duplicates and blank lines are fine; a line that is not an
address (damaged in transit, a header, a comment) is counted as unreadable, never echoed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from custodes.errors import InputError
from custodes.vault.normalise import normalise_email


@dataclass(frozen=True)
class Leak:
    name: str  # the output file's stem
    addresses: tuple[str, ...]  # normalised, unique, in first-seen order
    lines: int
    unreadable: int


def parse_leak(name: str, text: str) -> Leak:
    seen: dict[str, None] = {}
    lines = unreadable = 0
    for raw in text.splitlines():
        value = raw.strip().strip("<>").strip()
        if not value:
            continue
        lines += 1
        try:
            seen.setdefault(normalise_email(value), None)
        except InputError:
            unreadable += 1
    return Leak(name, tuple(seen), lines, unreadable)


def read_leaks(paths: list[Path]) -> list[Leak]:
    """Every leak named on the command line; a folder stands for its *.txt files."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(path.glob("*.txt"))
            if not found:
                raise InputError(f"{path}: folder holds no *.txt leak files")
            files += found
        elif path.is_file():
            files.append(path)
        else:
            raise InputError(f"{path}: no such leak file or folder")
    stems: dict[str, Path] = {}
    leaks = []
    for file in files:
        if file.stem in stems:
            raise InputError(f"{file}: another leak ({stems[file.stem]}) has the same name")
        stems[file.stem] = file
        try:
            text = file.read_bytes().decode("utf-8-sig", errors="replace")
        except OSError as exc:
            raise InputError(f"{file}: cannot be read ({exc.strerror})") from None
        leaks.append(parse_leak(file.stem, text))
    return leaks
