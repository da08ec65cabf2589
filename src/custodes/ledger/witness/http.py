"""HTTP face of the witness: ``POST /add-checkpoint`` as c2sp.org/tlog-witness defines it.

Status codes: 200 with cosignature lines; 400 malformed or old size above the
checkpoint size; 403 no trusted signature; 404 unknown origin; 409 old size not the
recorded one (body: recorded size, ``Content-Type: text/x.tlog.size``) or a fork at
equal size; 422 consistency proof fails. Requests are handled one at a time so the
check-then-persist step can never interleave.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from fastapi import FastAPI, Request, Response
from fastapi.concurrency import run_in_threadpool

from custodes.ledger.witness.core import (
    MAX_REQUEST_BYTES,
    SIZE_MEDIA_TYPE,
    AddCheckpointRequest,
    Witness,
    WitnessBadRequest,
    WitnessConflict,
)
from custodes.ledger.witness.state import WitnessError, WitnessStateError

log = logging.getLogger(__name__)

_TEXT = "text/plain; charset=utf-8"

_REQUEST_DOC = {
    "requestBody": {
        "required": True,
        "content": {
            "text/plain": {
                "schema": {"type": "string"},
                "example": (
                    "old 0\n\nexample.com/log\n1\n<base64 root>\n\n\u2014 example.com/log ...\n"
                ),
            }
        },
    }
}

_RESPONSES_DOC: dict[int | str, dict[str, object]] = {
    200: {"description": "Cosignature line(s)", "content": {"text/plain": {}}},
    400: {"description": "Malformed request, or old size larger than the checkpoint size"},
    403: {"description": "No signature verifies against a key trusted for the origin"},
    404: {"description": "Unknown log origin"},
    409: {
        "description": "Old size is not the recorded size (body: recorded size), or a fork",
        "content": {SIZE_MEDIA_TYPE: {}},
    },
    422: {"description": "Consistency proof does not verify"},
}


def _unix_now() -> int:
    return int(time.time())


def create_witness_app(witness: Witness, *, clock: Callable[[], int] = _unix_now) -> FastAPI:
    """A FastAPI app serving ``witness``; ``clock`` gives cosignature timestamps (tests)."""
    app = FastAPI(
        title="custodes witness",
        summary="c2sp.org/tlog-witness: cosigns checkpoints that extend what it saw before.",
        version="1",
    )
    serial = threading.Lock()

    def add_locked(req: AddCheckpointRequest) -> list[str]:
        with serial:
            return witness.add_checkpoint(req.old_size, list(req.proof), req.checkpoint, clock())

    @app.post(
        "/add-checkpoint",
        response_class=Response,
        responses=_RESPONSES_DOC,
        openapi_extra=_REQUEST_DOC,
    )
    async def add_checkpoint(request: Request) -> Response:
        """Submit a checkpoint with a consistency proof; get the witness's cosignature."""
        try:
            body = await _read_body(request)
            req = AddCheckpointRequest.parse(body)
            lines = await run_in_threadpool(add_locked, req)
        except WitnessConflict as exc:
            if exc.fork:
                log.warning("refused checkpoint: %s", exc)
            return Response(
                f"{exc.recorded_size}\n",
                status_code=409,
                headers={"content-type": SIZE_MEDIA_TYPE},
            )
        except WitnessStateError:
            log.exception("witness state failure; nothing was cosigned")
            return _text(500, "witness state unavailable; nothing was cosigned\n")
        except WitnessError as exc:
            return _text(exc.status, f"{exc}\n")
        return _text(200, "".join(lines))

    @app.get("/latest/{origin:path}", response_class=Response)
    def latest(origin: str) -> Response:
        """The newest checkpoint cosigned for a log, with the cosignature (for verifiers)."""
        note = witness.latest(origin)
        if note is None:
            return _text(404, "no checkpoint cosigned for that log\n")
        return _text(200, note)

    return app


def _text(status: int, body: str) -> Response:
    return Response(body, status_code=status, headers={"content-type": _TEXT})


async def _read_body(request: Request) -> bytes:
    """Read the body, giving up as soon as it exceeds the largest valid request."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_REQUEST_BYTES:
        raise WitnessBadRequest(f"request body is over {MAX_REQUEST_BYTES} bytes")
    chunks: list[bytes] = []
    total = 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > MAX_REQUEST_BYTES:
            raise WitnessBadRequest(f"request body is over {MAX_REQUEST_BYTES} bytes")
        chunks.append(chunk)
    return b"".join(chunks)
