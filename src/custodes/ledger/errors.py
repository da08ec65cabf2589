"""Exceptions raised by the ledger core.

One base class lets callers catch every ledger failure in one place, while the
subclasses say which layer objected: a Merkle proof, a signed note, or a text or
binary format.
"""

from __future__ import annotations


class LedgerError(Exception):
    """Base class for every error raised by ``custodes.ledger``."""


class ProofError(LedgerError):
    """A Merkle inclusion or consistency proof is malformed or does not verify."""


class NoteError(LedgerError):
    """A signed note, key or signature is malformed, or no trusted signature verifies."""


class FormatError(LedgerError):
    """A checkpoint, tile path, entry bundle or tlog-proof does not follow its format."""


class LedgerUnavailable(LedgerError):
    """The ledger could not record; callers must fail closed (no record, no reveal)."""


class SequencerBusy(LedgerError):
    """Another sequencer already holds this log."""


class SignerRefused(LedgerError):
    """The signer was asked to sign a head that does not extend what it signed before."""


class GuardRefused(LedgerError):
    """The entry's condition no longer holds; nothing was appended."""


class PIIRefused(FormatError):
    """Something that looks like PII was about to enter the ledger; it was refused."""
