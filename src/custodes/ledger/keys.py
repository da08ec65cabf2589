"""The log's checkpoint-signing key, in the note formats (PRIVATE+KEY+… / name+id+key).

Kept under CUSTODES_HOME/keys with mode 0600; the verifier key is public and goes to auditors.
"""

from __future__ import annotations

import os
from pathlib import Path

from custodes.ledger.errors import LedgerError
from custodes.ledger.note import Signer, Verifier, generate_signer_key
from custodes.ledger.signer_state import STATE_FILE, SignerState

SIGNER_FILE = "ledger.key"
VERIFIER_FILE = "ledger.pub"


def write_log_keys(keys_dir: Path, origin: str) -> tuple[Path, Path]:
    """Create the log key pair; refuses to replace one (old checkpoints would stop verifying)."""
    keys_dir.mkdir(parents=True, exist_ok=True)
    secret, public = keys_dir / SIGNER_FILE, keys_dir / VERIFIER_FILE
    if secret.exists():
        raise LedgerError(f"a ledger key already exists at {secret}; refusing to replace it")
    skey, vkey = generate_signer_key(origin)
    fd = os.open(secret, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(skey + "\n")
    public.write_text(vkey + "\n")
    return secret, public


def load_log_signer(keys_dir: Path) -> Signer:
    path = keys_dir / SIGNER_FILE
    if not path.exists():
        raise LedgerError(f"no ledger key at {path}; run `custodes ledger keygen`")
    if path.stat().st_mode & 0o077:
        raise LedgerError(f"ledger key {path} is readable by others; `chmod 600` it first")
    return Signer.from_skey(path.read_text().strip())


def load_verifier(text_or_path: str) -> Verifier:
    """A verifier key given inline (`name+id+key`) or as a file holding one."""
    return Verifier.from_vkey(key_text(text_or_path))


def key_text(text_or_path: str) -> str:
    """One rule for every `--key`-like option: a file holding a key, or the key itself inline.

    Keys in the note format always contain `+`; text without one is a path, so a missing file
    is reported as missing rather than as a malformed key.
    """
    candidate = Path(text_or_path)
    if candidate.is_file():
        try:
            return candidate.read_text().strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise LedgerError(
                f"{candidate}: cannot read the key file ({exc.__class__.__name__})"
            ) from None
    if "+" not in text_or_path:
        raise LedgerError(f"{text_or_path}: no such key file (and not an inline name+id+key)")
    return text_or_path.strip()


def load_signer_state(keys_dir: Path, origin: str) -> SignerState:
    """The signer's memory of what it last signed: beside its key, never in the database."""
    return SignerState(keys_dir / STATE_FILE, origin)
