"""Writes the log as static files in the c2sp.org/tlog-tiles layout, for any web server."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from custodes.ledger.errors import LedgerError
from custodes.ledger.storage import LedgerReader
from custodes.ledger.tiles import tiles_for_size


@dataclass(frozen=True)
class ExportReport:
    size: int
    tiles: int
    entry_bundles: int


def export_log(reader: LedgerReader, folder: Path) -> ExportReport:
    """Export every tile and entry bundle up to the latest checkpoint, then the checkpoint.

    The checkpoint is written last, so a reader never sees a checkpoint whose tiles are missing.
    """
    latest = reader.latest_checkpoint()
    if latest is None:
        raise LedgerError("the log has no checkpoint yet; append something first")
    size, note = latest
    tiles = bundles = 0
    for ref in tiles_for_size(size):
        if ref.is_entries:
            data = reader.entry_bundle(ref.index, ref.width)
            bundles += 1
        else:
            data = reader.hash_tile(ref.level, ref.index, ref.width)
            tiles += 1
        _write(folder / ref.path, data)
    _write(folder / "checkpoint", note.encode())
    return ExportReport(size, tiles, bundles)


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
