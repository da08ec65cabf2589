"""Client side of c2sp.org/tlog-witness: how a log asks a witness for a cosignature.

Error statuses come back as the same typed errors the witness raises locally, so a
409 carries the witness's recorded size and the log can retry with the right proof.
Only loopback witnesses are contacted: in this deployment the witness runs beside
the log, and refusing other hosts keeps ledger checkpoints from leaving the machine.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

import httpx

from custodes.ledger.checkpoint import parse_decimal
from custodes.ledger.errors import FormatError, NoteError
from custodes.ledger.note import CosignerKey, split_note, verify_cosignature
from custodes.ledger.witness.core import (
    SIZE_MEDIA_TYPE,
    AddCheckpointRequest,
    WitnessBadRequest,
    WitnessConflict,
    WitnessForbidden,
    WitnessUnavailable,
    WitnessUnknownLog,
    WitnessUnprocessable,
    parse_cosignature_lines,
)

DEFAULT_TIMEOUT = 10.0
"""Seconds to wait for a witness (connect, read and write each)."""

_ERRORS: dict[int, type[WitnessBadRequest | WitnessForbidden | WitnessUnprocessable]] = {
    400: WitnessBadRequest,
    403: WitnessForbidden,
    404: WitnessUnknownLog,
    422: WitnessUnprocessable,
}


def check_loopback_url(base_url: str) -> httpx.URL:
    """Parse ``base_url`` and raise ``ValueError`` unless it names a loopback host."""
    try:
        url = httpx.URL(base_url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise ValueError(f"invalid witness URL {base_url!r}: {exc}") from None
    if url.scheme not in ("http", "https"):
        raise ValueError(f"witness URL {base_url!r} must be http:// or https://")
    if not is_loopback_host(url.host):
        raise ValueError(
            f"witness URL {base_url!r} is not on this machine; only 127.0.0.1, ::1 and "
            "localhost witnesses are supported"
        )
    return url


def is_loopback_host(host: str) -> bool:
    """True for ``localhost`` and loopback IP addresses (127.0.0.0/8, ::1)."""
    host = host.strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def submit_checkpoint(
    base_url: str,
    old_size: int,
    proof: Sequence[bytes],
    checkpoint_note: str,
    client: httpx.Client | None = None,
    *,
    witness_key: CosignerKey | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> list[str]:
    """POST ``<base_url>/add-checkpoint``; return the cosignature lines.

    With ``witness_key``, lines from other keys are dropped (as the spec requires of
    clients) and the rest must verify over the checkpoint, else
    :class:`WitnessUnavailable`. Error statuses raise the matching witness error.
    ``timeout`` applies only when no ``client`` is given.
    """
    url = check_loopback_url(base_url)
    endpoint = str(url).rstrip("/") + "/add-checkpoint"
    body = AddCheckpointRequest(old_size, tuple(proof), checkpoint_note).to_body()
    try:
        if client is None:
            with httpx.Client(timeout=timeout) as own:
                response = own.post(endpoint, content=body)
        else:
            response = client.post(endpoint, content=body)  # the caller's client, its timeouts
    except httpx.HTTPError as exc:
        raise WitnessUnavailable(f"witness at {base_url} unreachable: {exc}") from None
    lines = _handle(response, old_size)
    if witness_key is None:
        return lines
    return _verified(lines, checkpoint_note, witness_key)


def _handle(response: httpx.Response, old_size: int) -> list[str]:
    status = response.status_code
    if status == 200:
        return parse_cosignature_lines(response.text)
    message = response.text.strip() or f"HTTP {status}"
    if status == 409:
        recorded = _recorded_size(response)
        if recorded == old_size:
            raise WitnessConflict(
                recorded,
                f"fork: the witness holds another root for tree size {recorded}",
                fork=True,
            )
        raise WitnessConflict(recorded)
    error = _ERRORS.get(status)
    if error is not None:
        raise error(f"witness refused the checkpoint (HTTP {status}): {message}")
    raise WitnessUnavailable(f"witness answered HTTP {status}: {message[:200]}")


def _recorded_size(response: httpx.Response) -> int:
    media_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
    text = response.text
    if media_type != SIZE_MEDIA_TYPE or not text.endswith("\n"):
        raise WitnessUnavailable(f"witness 409 without a {SIZE_MEDIA_TYPE} size body")
    try:
        return parse_decimal(text[:-1], "witness recorded size")
    except FormatError as exc:
        raise WitnessUnavailable(f"witness 409 body is not a tree size: {exc}") from None


def _verified(lines: list[str], checkpoint_note: str, key: CosignerKey) -> list[str]:
    body, _ = split_note(checkpoint_note)
    mine = [line for line in lines if line.startswith(f"\u2014 {key.name} ")]
    good: list[str] = []
    for line in mine:
        try:
            verify_cosignature(body, line, key)
        except NoteError:
            continue  # another key under the same name, or a bad signature
        good.append(line)
    if not good:
        raise WitnessUnavailable(
            f"the witness returned no valid cosignature from {key.name!r} (key ID {key.key_id:08x})"
        )
    return good
