"""Read-only HTTP view of the log in the c2sp.org/tlog-tiles layout (`/ledger/...`).

Full tiles and bundles never change, so they are served as immutable; the checkpoint is not.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, Response

from custodes.ledger.errors import FormatError, LedgerError
from custodes.ledger.storage import LedgerReader
from custodes.ledger.tiles import TILE_WIDTH, parse_tile_path
from custodes.problems import problem_responses

IMMUTABLE = "public, max-age=31536000, immutable"


def ledger_router() -> APIRouter:
    router = APIRouter(prefix="/ledger", tags=["ledger"])

    def reader(request: Request) -> LedgerReader:
        return LedgerReader(request.app.state.engine)

    responses = problem_responses(404, 422)

    @router.get(
        "/checkpoint",
        response_class=Response,
        summary="Latest signed checkpoint",
        responses=responses,
    )
    def checkpoint(request: Request) -> Response:
        latest = reader(request).latest_checkpoint()
        if latest is None:
            raise HTTPException(404, "the log has no checkpoint yet")
        return Response(
            latest[1], media_type="text/plain; charset=utf-8", headers={"Cache-Control": "no-store"}
        )

    @router.get(
        "/tile/{path:path}",
        response_class=Response,
        summary="Hash tile or entry bundle",
        responses=responses,
    )
    def tile(path: str, request: Request) -> Response:
        try:
            ref = parse_tile_path(f"tile/{path}")
        except FormatError as exc:
            raise HTTPException(404, f"not a tile path: {exc}") from None
        log = reader(request)
        latest = log.latest_checkpoint()
        published = latest[0] if latest else 0
        # Only what a checkpoint covers is published: tiles beyond it would be unverifiable.
        level_size = published >> (8 * ref.level)
        if ref.index * TILE_WIDTH + ref.width > level_size:
            raise HTTPException(404, "tile beyond the latest checkpoint")
        try:
            if ref.is_entries:
                data = log.entry_bundle(ref.index, ref.width)
            else:
                data = log.hash_tile(ref.level, ref.index, ref.width)
        except LedgerError:
            raise HTTPException(404, "tile not found") from None
        cache = IMMUTABLE if ref.width == TILE_WIDTH else "no-cache"
        return Response(
            data, media_type="application/octet-stream", headers={"Cache-Control": cache}
        )

    return router
