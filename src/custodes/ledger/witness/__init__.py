"""A transparency-log witness (c2sp.org/tlog-witness, c2sp.org/tlog-cosignature).

Outsiders trust the ledger's checkpoints only if independent witnesses cosign them,
and a witness cosigns only checkpoints that extend what it cosigned before, so the
ledger cannot show different histories to different people. The HTTP app lives in
:mod:`custodes.ledger.witness.http` and the commands in
:mod:`custodes.ledger.witness.cli`; they are not imported here, to keep this light.
"""

from custodes.ledger.witness.client import check_loopback_url, submit_checkpoint
from custodes.ledger.witness.core import (
    AddCheckpointRequest,
    Witness,
    WitnessBadRequest,
    WitnessConflict,
    WitnessForbidden,
    WitnessUnavailable,
    WitnessUnknownLog,
    WitnessUnprocessable,
    log_keys_from_vkeys,
)
from custodes.ledger.witness.state import (
    LogRecord,
    WitnessError,
    WitnessKey,
    WitnessState,
    WitnessStateError,
    generate_witness_key,
    load_witness_key,
    write_witness_key,
)

__all__ = [
    "AddCheckpointRequest",
    "LogRecord",
    "Witness",
    "WitnessBadRequest",
    "WitnessConflict",
    "WitnessError",
    "WitnessForbidden",
    "WitnessKey",
    "WitnessState",
    "WitnessStateError",
    "WitnessUnavailable",
    "WitnessUnknownLog",
    "WitnessUnprocessable",
    "check_loopback_url",
    "generate_witness_key",
    "load_witness_key",
    "log_keys_from_vkeys",
    "submit_checkpoint",
    "write_witness_key",
]
