"""Operator commands change who may do what and what the vault holds (imports, tokens, keys,
erasure, policy): each is a ledgered, attributable decision, recorded before it takes effect.

The actor is the operating-system account that ran the command (`os:<user>`), or the employee
an operator names. While a server holds the log, the entry goes through its sequencer socket;
otherwise this process opens the log itself.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import socket
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from custodes.ledger.entry import LedgerEntry
from custodes.ledger.sequencer import Item, Receipt, SequencerBusy
from custodes.runtime import Runtime
from custodes.vocabulary import Verdict

if TYPE_CHECKING:
    from custodes.access.door import Door

Extra = Mapping[str, str | int | bool | None]


def operator() -> str:
    """The account running the command, as the ledger may name it: from the system's account
    database, not from $LOGNAME or $USER, which whoever runs the command sets at will (and
    could set to a person's name, into the public ledger)."""
    uid = os.getuid()
    try:
        user = pwd.getpwuid(uid).pw_name
    except KeyError:
        user = f"uid-{uid}"
    return f"os:{user}"


def safe_id(rt: Runtime, ident: str, known: bool = True) -> str:
    """An id the operator typed: itself if it names a known record (`known`) and passes the PII
    guard, else a keyed digest (a typo or a pasted name must not land in the public tiles)."""
    from custodes.access.door import ledger_id

    return ledger_id(rt.keyring.pseudonym_key, ident, known=known)


@contextlib.contextmanager
def recorded(
    rt: Runtime,
    action: str,
    resources: Sequence[str] = (),
    extra: Extra | None = None,
    actor: str | None = None,
) -> Iterator[Receipt]:
    """Record the change, then let it happen; if it then fails, record that it did not."""
    who = actor or operator()
    receipt = append(rt, _entry(who, action, Verdict.RECORDED, resources, extra or {}, None))
    try:
        yield receipt
    except BaseException as exc:
        reason = "failed" if isinstance(exc, Exception) else "interrupted"
        with contextlib.suppress(Exception):
            append(rt, _entry(who, action, Verdict.DENY, resources, extra or {}, reason))
        raise


def _entry(
    actor: str,
    action: str,
    decision: str,
    resources: Sequence[str],
    extra: Extra,
    reason: str | None,
) -> bytes:
    return LedgerEntry(
        time=datetime.now(UTC),
        actor=actor,
        action=action,
        decision=decision,
        resources=list(resources),
        reason=reason,
        kind="admin",
        extra=dict(extra),
    ).encode()


def append(rt: Runtime, data: bytes, rows: Sequence[dict[str, Any]] = ()) -> Receipt:
    """Through a running server's sequencer socket if one answers, else by opening the log."""
    from custodes.ledger.remote import RemoteLedger

    path = _live_socket(rt)
    if path is not None:
        return RemoteLedger(path).append(data, rows)
    try:
        with rt.sequencer() as seq:
            result = seq.append_items([Item(data, rows)])[0]
    except SequencerBusy:
        raise SequencerBusy(
            "the running server holds the log but its sequencer socket does not answer; "
            f"is {rt.settings.home / 'run' / 'sequencer.sock'} reachable by this user?"
        ) from None
    if isinstance(result, Exception):
        raise result
    return result


@contextlib.contextmanager
def open_door(rt: Runtime) -> Iterator[Door]:
    """The one door for an operator command: appending through a running server's sequencer
    when one answers, else through this process holding the log for the command's duration."""
    from custodes.access.door import Door
    from custodes.ledger.remote import RemoteLedger
    from custodes.ledger.sequencer import GroupCommitter

    services = rt.services()
    path = _live_socket(rt)

    def build(ledger: Any) -> Door:
        return Door(
            rt.migrated_engine(),
            services.keyring,
            ledger,
            services.policy or _default_policy(),
            services.approval_key,
            services.notifier,
            services.config,
        )

    if path is not None:
        yield build(RemoteLedger(path))
        return
    with rt.sequencer() as seq:
        committer = GroupCommitter(seq)
        try:
            yield build(committer)
        finally:
            committer.close()


def _live_socket(rt: Runtime) -> Path | None:
    """The running server's sequencer socket, if one answers."""
    from custodes.web.worker import sequencer_socket

    path = sequencer_socket(rt.settings.home)
    if not path.exists():
        return None
    try:
        with socket.socket(socket.AF_UNIX) as probe:
            probe.connect(str(path))
    except OSError:
        return None
    return path


def _default_policy() -> Any:
    from custodes.access.policy import Policy

    return Policy.default()
