"""Offline verification of a published log (an exported folder or a loopback URL).

Recomputes the root from every entry and checks it against the signed checkpoint (and witness
cosignatures). When they disagree it names the first bad index, using the log's level-0 hash
tiles as the reference once those are proven to hash up to the signed root.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import httpx

from custodes.ledger.checkpoint import Checkpoint, open_checkpoint
from custodes.ledger.errors import FormatError, LedgerError, NoteError
from custodes.ledger.note import CosignerKey, Verifier, split_note, verify_cosignature
from custodes.ledger.rfc6962 import HASH_SIZE, leaf_hash, root_from_leaf_hashes
from custodes.ledger.tiles import TILE_WIDTH, decode_entry_bundle, entries_path, tile_path
from custodes.ledger.trust import Trusted

Fetch = Callable[[str], bytes | None]


@dataclass
class VerifyReport:
    """What was checked and, on failure, the first index that does not match the checkpoint."""

    origin: str
    size: int
    ok: bool
    first_bad_index: int | None = None
    problem: str | None = None
    cosigned_by: list[str] = field(default_factory=list)
    root: bytes = b""
    leaves: list[bytes] = field(default_factory=list, repr=False)


def folder_fetcher(folder: Path) -> Fetch:
    def fetch(path: str) -> bytes | None:
        target = folder / path
        return target.read_bytes() if target.is_file() else None

    if not folder.is_dir():
        raise LedgerError(f"{folder} is not a folder exported by `custodes ledger export`")
    return fetch


def require_loopback(url: str) -> None:
    """Verification talks to loopback only: nothing here may reach another host."""
    host = urlparse(url).hostname or ""
    if host == "localhost":
        return
    try:
        if ipaddress.ip_address(host).is_loopback:
            return
    except ValueError:
        pass
    raise LedgerError(f"{url}: only loopback addresses (127.0.0.0/8, ::1, localhost) are allowed")


def url_fetcher(base: str, client: httpx.Client | None = None) -> Fetch:
    require_loopback(base)
    http = client or httpx.Client(timeout=10.0)
    root = base.rstrip("/")

    def fetch(path: str) -> bytes | None:
        try:
            response = http.get(f"{root}/{path}")
            if response.status_code == 404:
                return None
            response.raise_for_status()
        except httpx.HTTPError as exc:
            raise LedgerError(f"fetching {path} failed ({type(exc).__name__})") from None
        return response.content

    return fetch


def fetcher_for(source: str) -> Fetch:
    if source.startswith(("http://", "https://")):
        return url_fetcher(source)
    return folder_fetcher(Path(source))


def check_cosignatures(note: str, body: str, witnesses: Sequence[CosignerKey]) -> list[str]:
    """Every given witness must have cosigned this checkpoint; returns their names."""
    _, signatures = split_note(note)
    names = []
    for key in witnesses:
        lines = [s.line for s in signatures if s.name == key.name and s.key_id == key.key_id]
        if not lines:
            raise NoteError(f"checkpoint carries no cosignature from witness {key.name!r}")
        verify_cosignature(body, lines[0], key)
        names.append(key.name)
    return names


def _lenient_bundle(data: bytes) -> list[bytes]:
    """Split a bundle without trusting its count (an inserted entry must still be located)."""
    out, pos = [], 0
    while pos + 2 <= len(data):
        n = int.from_bytes(data[pos : pos + 2], "big")
        pos += 2
        out.append(data[pos : pos + n])
        pos += n
    return out


def verify_log(
    fetch: Fetch,
    log_key: Verifier,
    witnesses: Sequence[CosignerKey] = (),
    origin: str | None = None,
    trusted: Sequence[Trusted] = (),
) -> VerifyReport:
    """Recompute the log from its entries; with `trusted` heads (what this verifier, a witness
    or `--since` vouched for), also refuse a log that is older than or not an extension of one."""
    report = _verify_entries(fetch, log_key, witnesses, origin)
    if not report.ok or not trusted:
        return report
    for known in trusted:
        problem = _against(report, known)
        if problem is not None:
            report.ok = False
            report.problem = problem
            return report
    return report


def _against(report: VerifyReport, known: Trusted) -> str | None:
    if report.size < known.size:
        return (
            f"rolled back: the log's checkpoint has size {report.size}, but size {known.size} "
            "was verified or witnessed before"
        )
    prefix = root_from_leaf_hashes(report.leaves[: known.size])
    if prefix != known.root:
        return f"forked: the log's first {known.size} entries differ from the ones trusted before"
    return None


def _verify_entries(
    fetch: Fetch,
    log_key: Verifier,
    witnesses: Sequence[CosignerKey] = (),
    origin: str | None = None,
) -> VerifyReport:
    note_bytes = fetch("checkpoint")
    if note_bytes is None:
        raise LedgerError("no checkpoint found at the source")
    try:
        note = note_bytes.decode("utf-8", errors="strict")
    except UnicodeDecodeError:
        raise NoteError("the checkpoint is not UTF-8 text") from None
    # The log's key names its origin: a checkpoint of another log signed with the same key
    # must not pass for this one.
    checkpoint = open_checkpoint(note, log_key, origin or log_key.name)
    cosigned = check_cosignatures(note, checkpoint.to_body(), witnesses)
    size = checkpoint.size
    report = VerifyReport(
        checkpoint.origin, size, ok=True, cosigned_by=cosigned, root=checkpoint.root_hash
    )
    leaves, missing_at, malformed = _fetch_leaves(fetch, size)
    whole = missing_at is None and len(leaves) == size
    if whole and root_from_leaf_hashes(leaves) == checkpoint.root_hash:
        if malformed is not None:
            report.ok = False  # every entry right, but not where the bundles say they are
            report.problem = malformed
            return report
        bad_tile = _first_bad_tile(fetch, leaves)
        if bad_tile is None:
            report.leaves = leaves
            return report
        report.ok = False
        report.problem = f"hash tile {bad_tile} does not match the entries"
        return report
    report.ok = False
    report.problem, report.first_bad_index = _locate_damage(fetch, checkpoint, leaves, missing_at)
    return report


def _fetch_leaves(fetch: Fetch, size: int) -> tuple[list[bytes], int | None, str | None]:
    """Leaf hashes of every entry the bundles hold, where the first missing bundle starts,
    and the first malformed bundle (its entries are still read, leniently)."""
    entries: list[bytes] = []
    missing_at: int | None = None
    malformed: str | None = None
    for n in range((size + TILE_WIDTH - 1) // TILE_WIDTH):
        width = min(TILE_WIDTH, size - n * TILE_WIDTH)
        data = fetch(entries_path(n, width))
        if data is None:
            missing_at = n * TILE_WIDTH
            break
        try:
            decode_entry_bundle(data, width)  # exactly its entries, not one byte more
        except FormatError:
            malformed = malformed or f"entry bundle {n} is malformed"
        entries.extend(_lenient_bundle(data))
    return [leaf_hash(e) for e in entries], missing_at, malformed


def _locate_damage(
    fetch: Fetch, checkpoint: Checkpoint, leaves: list[bytes], missing_at: int | None
) -> tuple[str, int | None]:
    """What is wrong with entries that do not hash to the signed root, and the first bad
    index when the hash tiles can prove it."""
    size = checkpoint.size
    reference = _trusted_leaf_hashes(fetch, checkpoint)
    if missing_at is not None and len(leaves) <= missing_at:
        problem = f"entry bundle for index {missing_at} is missing"
        bad = len(leaves) if reference is None else _first_difference(leaves, reference)
        return problem, bad
    if reference is None:
        return (
            "entries do not hash to the signed root and the hash tiles do not either, "
            "so the first bad index cannot be proven"
        ), None
    bad = _first_difference(leaves, reference)
    if bad >= size:
        return f"{len(leaves) - size} entries beyond the signed size", bad
    if bad >= len(leaves):
        return f"entries end at {len(leaves)}; the checkpoint covers {size}", bad
    return f"entry {bad} does not match the log", bad


def _first_bad_tile(fetch: Fetch, leaves: Sequence[bytes]) -> str | None:
    """Served hash tiles must be what the entries imply (clients of the tiles trust them);
    a tile the source does not serve is not checked. Returns the first bad tile's path."""
    level_hashes = list(leaves)
    level = 0
    while level_hashes:
        for n in range((len(level_hashes) + TILE_WIDTH - 1) // TILE_WIDTH):
            chunk = level_hashes[n * TILE_WIDTH : (n + 1) * TILE_WIDTH]
            path = tile_path(level, n, len(chunk))
            served = fetch(path)
            if served is not None and served != b"".join(chunk):
                return path
        # One level up: the roots of complete 256-wide subtrees.
        complete = len(level_hashes) // TILE_WIDTH
        level_hashes = [
            root_from_leaf_hashes(level_hashes[k * TILE_WIDTH : (k + 1) * TILE_WIDTH])
            for k in range(complete)
        ]
        level += 1
    return None


def _first_difference(leaves: Sequence[bytes], reference: Sequence[bytes]) -> int:
    for index, (got, want) in enumerate(zip(leaves, reference, strict=False)):
        if got != want:
            return index
    return min(len(leaves), len(reference))


def _trusted_leaf_hashes(fetch: Fetch, checkpoint: Checkpoint) -> list[bytes] | None:
    """Level-0 hash tiles, accepted only if they hash to the signed root."""
    hashes: list[bytes] = []
    size = checkpoint.size
    for n in range((size + TILE_WIDTH - 1) // TILE_WIDTH):
        width = min(TILE_WIDTH, size - n * TILE_WIDTH)
        data = fetch(tile_path(0, n, width))
        if data is None or len(data) != width * HASH_SIZE:
            return None
        hashes.extend(data[i : i + HASH_SIZE] for i in range(0, len(data), HASH_SIZE))
    if root_from_leaf_hashes(hashes) != checkpoint.root_hash:
        return None
    return hashes


def describe(report: VerifyReport) -> str:
    if report.ok:
        cosig = f", cosigned by {', '.join(report.cosigned_by)}" if report.cosigned_by else ""
        return f"ok: {report.origin} size {report.size}, root matches the signed checkpoint{cosig}"
    where = "" if report.first_bad_index is None else f"first bad index {report.first_bad_index}: "
    return f"FAILED: {where}{report.problem}"


def witnessed_head(
    witness_url: str,
    key: CosignerKey,
    log_key: Verifier,
    origin: str,
    client: httpx.Client | None = None,
) -> Trusted | None:
    """The newest checkpoint a witness cosigned for this log (its signature and the witness's
    both checked), so a verifier can tell when the log shows less than the witness saw."""
    from urllib.parse import quote

    fetch = url_fetcher(witness_url, client)
    data = fetch(f"latest/{quote(origin, safe='/')}")
    if data is None:
        return None
    note = data.decode("utf-8", errors="strict")
    checkpoint = open_checkpoint(note, log_key, origin)
    check_cosignatures(note, checkpoint.to_body(), [key])
    return Trusted(checkpoint.size, checkpoint.root_hash)


def checkpoint_file_head(text: str, log_key: Verifier, origin: str) -> Trusted:
    """A signed checkpoint the user vouches for (`--since FILE`)."""
    checkpoint = open_checkpoint(text, log_key, origin)
    return Trusted(checkpoint.size, checkpoint.root_hash)
