"""The witness's decision procedure (c2sp.org/tlog-witness ``add-checkpoint``).

A witness cosigns a log's checkpoint only when it is signed by a key configured for
its origin and provably extends the last checkpoint the witness cosigned for that
origin. Checking the recorded size and persisting the new tree head happen inside one
state transaction, so concurrent requests cannot roll a log back. The request wire
format lives here too, so the HTTP server and the client share one parser.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from custodes.ledger.checkpoint import Checkpoint, decode_base64, parse_decimal
from custodes.ledger.errors import FormatError, NoteError, ProofError
from custodes.ledger.note import CosignerKey, NoteVerifier, Verifier, open_note, split_note
from custodes.ledger.proof import verify_consistency
from custodes.ledger.rfc6962 import EMPTY_ROOT, HASH_SIZE
from custodes.ledger.witness.state import (
    LogRecord,
    WitnessError,
    WitnessKey,
    WitnessState,
    load_witness_key,
)

log = logging.getLogger(__name__)

MAX_PROOF_HASHES = 63
"""Most consistency proof lines a request may carry (the spec's client limit)."""

MAX_REQUEST_BYTES = (1 << 20) + 8192
"""Largest request body: a 1 MiB note plus the old size and proof lines."""

SIZE_MEDIA_TYPE = "text/x.tlog.size"
"""Content type of a 409 body carrying the witness's recorded tree size."""

_MAX_TIMESTAMP = (1 << 63) - 1


# --- errors (one per response status of the spec) -----------------------------------------


class WitnessBadRequest(WitnessError):
    """Malformed request, or an old size larger than the checkpoint size (a rollback)."""

    status = 400


class WitnessForbidden(WitnessError):
    """No signature on the checkpoint verifies against a key trusted for its origin."""

    status = 403


class WitnessUnknownLog(WitnessForbidden):
    """The checkpoint origin is not configured (404; a kind of forbidden: not trusted)."""

    status = 404


class WitnessConflict(WitnessError):
    """Old size differs from the recorded size, or the same size carries another root.

    ``recorded_size`` is the size of the latest checkpoint the witness cosigned, so a
    log can retry with a proof from there. ``fork`` marks a root mismatch at equal
    sizes: retrying cannot help, the log has forked.
    """

    status = 409

    def __init__(
        self, recorded_size: int, message: str | None = None, *, fork: bool = False
    ) -> None:
        self.recorded_size = recorded_size
        self.fork = fork
        super().__init__(
            message
            or f"the witness last cosigned tree size {recorded_size}; "
            f"resubmit with old size {recorded_size} and a consistency proof from it"
        )


class WitnessUnprocessable(WitnessError):
    """The consistency proof does not verify; the checkpoint was not cosigned."""

    status = 422


class WitnessUnavailable(WitnessError):
    """The witness could not be reached or answered outside the protocol."""

    status = 502


# --- wire format --------------------------------------------------------------------------


@dataclass(frozen=True)
class AddCheckpointRequest:
    """An ``add-checkpoint`` body: old size, consistency proof, checkpoint note."""

    old_size: int
    proof: tuple[bytes, ...]
    checkpoint: str

    def to_body(self) -> bytes:
        """``old <N>`` line, one base64 hash per line, an empty line, then the note."""
        lines = [f"old {self.old_size}\n"]
        lines.extend(base64.b64encode(h).decode("ascii") + "\n" for h in self.proof)
        return ("".join(lines) + "\n" + self.checkpoint).encode("utf-8")

    @classmethod
    def parse(cls, body: bytes) -> AddCheckpointRequest:
        """Strictly parse a request body; anything malformed is :class:`WitnessBadRequest`."""
        if len(body) > MAX_REQUEST_BYTES:
            raise WitnessBadRequest(f"request body is over {MAX_REQUEST_BYTES} bytes")
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise WitnessBadRequest("request body is not UTF-8") from None
        head, sep, note = text.partition("\n\n")
        if not sep or not note:
            raise WitnessBadRequest(
                "request body must be 'old <size>', proof lines, an empty line, then a checkpoint"
            )
        first, *proof_lines = head.split("\n")
        if not first.startswith("old "):
            raise WitnessBadRequest("request body must start with an 'old <size>' line")
        if len(proof_lines) > MAX_PROOF_HASHES:
            raise WitnessBadRequest(
                f"{len(proof_lines)} consistency proof lines, over the limit of {MAX_PROOF_HASHES}"
            )
        try:
            old_size = parse_decimal(first[4:], "old size")
            proof = tuple(_proof_hash(line) for line in proof_lines)
        except FormatError as exc:
            raise WitnessBadRequest(str(exc)) from None
        return cls(old_size, proof, note)


def _proof_hash(line: str) -> bytes:
    h = decode_base64(line, "consistency proof hash")
    if len(h) != HASH_SIZE:
        raise FormatError(f"consistency proof hash is {len(h)} bytes, want {HASH_SIZE}")
    return h


def parse_cosignature_lines(body: str) -> list[str]:
    """Split a 200 response into newline-terminated signature lines (``— name sig``)."""
    if not body.endswith("\n"):
        raise WitnessUnavailable("witness response does not end with a newline")
    lines = [line + "\n" for line in body[:-1].split("\n")]
    if not lines or any(not line.startswith("\u2014 ") for line in lines):
        raise WitnessUnavailable("witness response is not a list of note signature lines")
    return lines


# --- configuration ------------------------------------------------------------------------

LogKeys = Mapping[str, NoteVerifier | Sequence[NoteVerifier]]
"""Trusted log keys per checkpoint origin (one key, or several during a rotation)."""


def log_keys_from_vkeys(vkeys: Iterable[str]) -> dict[str, list[NoteVerifier]]:
    """Map Ed25519 log vkeys to origins; a log key's name is its origin, by convention."""
    logs: dict[str, list[NoteVerifier]] = {}
    for vkey in vkeys:
        try:
            verifier = Verifier.from_vkey(vkey.strip())
        except NoteError as exc:
            raise WitnessBadRequest(f"bad log key: {exc}") from None
        logs.setdefault(verifier.name, []).append(verifier)
    return logs


def _verifier_list(keys: NoteVerifier | Sequence[NoteVerifier]) -> list[NoteVerifier]:
    if isinstance(keys, Sequence):
        return list(keys)
    return [keys]


# --- the witness --------------------------------------------------------------------------


class Witness:
    """Cosigns checkpoints that consistently extend what it cosigned before."""

    def __init__(self, state: WitnessState, key: WitnessKey, logs: LogKeys) -> None:
        self.state = state
        self.key = key
        self._logs = {origin: _verifier_list(keys) for origin, keys in logs.items()}
        for origin, keys in self._logs.items():
            if not keys:
                raise ValueError(f"no log key configured for origin {origin!r}")

    @classmethod
    def from_files(cls, key_path: Path, state_path: Path, log_vkeys: Iterable[str]) -> Witness:
        """Witness from a key file, a state file and log vkeys (as the CLI passes them)."""
        return cls(
            WitnessState(state_path), load_witness_key(key_path), log_keys_from_vkeys(log_vkeys)
        )

    @property
    def name(self) -> str:
        """The witness key name, which appears on its cosignature lines."""
        return self.key.name

    @property
    def cosigner_key(self) -> CosignerKey:
        """The public key verifying this witness's cosignatures."""
        return self.key.cosigner_key

    @property
    def origins(self) -> list[str]:
        """Configured log origins."""
        return sorted(self._logs)

    def latest(self, origin: str) -> str | None:
        """The newest checkpoint this witness cosigned for `origin`, with its cosignature:
        what a verifier compares a log against (a log showing less was rolled back)."""
        record = self.state.get(origin)
        if record is None:
            return None
        body, _ = split_note(record.checkpoint)
        return record.checkpoint + self.key.cosign(body, record.cosigned_at)

    def add_checkpoint(
        self,
        old_size: int,
        consistency_proof: Sequence[bytes],
        checkpoint_note: str,
        now: int,
    ) -> list[str]:
        """Check and cosign ``checkpoint_note``; return the cosignature line(s).

        The new tree head is on disk before this returns. Raises
        :class:`WitnessBadRequest`, :class:`WitnessUnknownLog`, :class:`WitnessForbidden`,
        :class:`WitnessConflict` or :class:`WitnessUnprocessable`, in the spec's order.
        """
        if isinstance(now, bool) or not isinstance(now, int) or not 0 <= now <= _MAX_TIMESTAMP:
            raise ValueError(f"cosignature timestamp {now!r} is outside 0..2^63-1")
        proof = _check_request(old_size, consistency_proof)
        cp, body = self._open(checkpoint_note)
        if old_size > cp.size:
            raise WitnessBadRequest(
                f"old size {old_size} is larger than the checkpoint size {cp.size}: "
                "a log cannot shrink (rollback refused)"
            )
        if old_size == 0 and proof:
            raise WitnessBadRequest("the consistency proof must be empty when the old size is 0")
        with self.state.transaction() as txn:
            record = txn.get(cp.origin)
            recorded = record.size if record else 0
            if old_size != recorded:
                raise WitnessConflict(recorded)
            _check_consistency(cp, record, proof)
            cosignature = self.key.cosign(body, now)
            txn.put(cp.origin, LogRecord(cp.size, cp.root_hash, checkpoint_note, now))
        return [cosignature]

    def _open(self, checkpoint_note: str) -> tuple[Checkpoint, str]:
        """Parse the checkpoint, then verify it with the keys trusted for its origin."""
        try:
            text, _ = split_note(checkpoint_note)
            cp = Checkpoint.parse(text)
        except (NoteError, FormatError) as exc:
            raise WitnessBadRequest(f"malformed checkpoint: {exc}") from None
        keys = self._logs.get(cp.origin)
        if keys is None:
            raise WitnessUnknownLog(
                f"unknown log {cp.origin!r}: this witness is not configured for that origin"
            )
        try:
            opened = open_note(checkpoint_note, keys)
        except NoteError as exc:
            raise WitnessForbidden(
                f"bad signature on checkpoint for {cp.origin!r}: {exc}"
            ) from None
        return cp, opened.text


def _check_request(old_size: int, proof: Sequence[bytes]) -> list[bytes]:
    if isinstance(old_size, bool) or not isinstance(old_size, int) or old_size < 0:
        raise WitnessBadRequest(f"old size must be a non-negative integer, got {old_size!r}")
    hashes = list(proof)
    if len(hashes) > MAX_PROOF_HASHES:
        raise WitnessBadRequest(
            f"{len(hashes)} consistency proof hashes, over the limit of {MAX_PROOF_HASHES}"
        )
    for i, h in enumerate(hashes):
        if not isinstance(h, bytes) or len(h) != HASH_SIZE:
            raise WitnessBadRequest(f"consistency proof hash {i} must be {HASH_SIZE} bytes")
    return hashes


def _check_consistency(cp: Checkpoint, record: LogRecord | None, proof: list[bytes]) -> None:
    """Does ``cp`` extend ``record``? Old sizes already match; proofs are from it."""
    if cp.size == 0 and cp.root_hash != EMPTY_ROOT:
        raise WitnessUnprocessable("a checkpoint of size 0 must carry the empty tree's root hash")
    if record is None or (record.size == 0 and cp.size > 0):
        return  # every tree extends the empty one; the proof is empty (checked earlier)
    if record.size == cp.size and record.root_hash != cp.root_hash:
        log.warning(
            "fork: log %r signed two roots for tree size %d (%s, %s)",
            cp.origin,
            cp.size,
            record.root_hash.hex(),
            cp.root_hash.hex(),
        )
        raise WitnessConflict(
            record.size,
            f"fork: the witness cosigned a different root for tree size {record.size} "
            f"of {cp.origin!r}; refusing to cosign",
            fork=True,
        )
    try:
        verify_consistency(record.size, cp.size, proof, record.root_hash, cp.root_hash)
    except ProofError as exc:
        # Kept in the log: a signed checkpoint that fails to extend is evidence.
        log.warning(
            "consistency proof for %r from %d to %d failed: %s",
            cp.origin,
            record.size,
            cp.size,
            exc,
        )
        raise WitnessUnprocessable(f"consistency proof does not verify: {exc}") from None
