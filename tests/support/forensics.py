"""A simulated marketplace written as a dataset folder, with who read which customer's e-mail."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass
class Folder:
    path: Path
    emails: dict[str, str]  # customer id -> address (test data only)
    reads: dict[str, list[str]]  # employee -> customers whose e-mail they read, first-read order

    def busiest(self) -> str:
        return max(sorted(self.reads), key=lambda e: len(self.reads[e]))
