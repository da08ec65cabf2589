"""The peer for the HTTP reveal benchmark: a bare FastAPI endpoint taking the same body and
headers and answering a same-shaped JSON, with no vault, policy or ledger behind it."""

from __future__ import annotations

import sys
from typing import Annotated

import uvicorn
from fastapi import FastAPI, Header
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field


class Why(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str
    case_id: str | None = None
    text: str = ""


class RevealIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    fields: Annotated[list[str], Field(min_length=1, max_length=4)]
    justification: Why


app = FastAPI()


@app.post("/v1/customers/{customer_id}/reveal")
async def reveal(
    customer_id: str,
    body: RevealIn,
    authorization: Annotated[str | None, Header()] = None,
    x_custodes_employee: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    decision = {"outcome": "allow", "reason": "bare", "action": "customer.view"}
    return JSONResponse({"decision": decision, "values": {f: customer_id for f in body.fields}})


if __name__ == "__main__":
    port = int(sys.argv[1])
    print('{"token": "none", "pairs": [["A000", "C00000", "K00000"]]}', flush=True)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
