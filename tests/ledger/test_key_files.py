"""Secret key files are refused when others can read them."""

from __future__ import annotations

import pytest


def test_a_ledger_key_readable_by_others_is_refused(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from custodes.ledger.errors import LedgerError
    from custodes.ledger.keys import load_log_signer, write_log_keys

    write_log_keys(tmp_path, "custodes.test/ledger")
    load_log_signer(tmp_path)
    for key in tmp_path.iterdir():
        key.chmod(0o644)
    with pytest.raises(LedgerError, match="chmod 600"):
        load_log_signer(tmp_path)
