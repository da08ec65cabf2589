"""The `/v1` request and response bodies. The schema's enums come from the model's tuples, so
the API cannot drift from the policy; every id follows `custodes.vocabulary`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import Path, Query
from pydantic import BaseModel, ConfigDict, Field

from custodes.access.model import JUSTIFICATIONS, PII_FIELDS, Justification
from custodes.marketplace.models import CASE_KINDS
from custodes.vocabulary import ID_REGEX

ID_CHARS = ID_REGEX  # the ids `custodes.vocabulary` defines
Id = Annotated[str, Field(min_length=1, max_length=64, pattern=ID_CHARS)]
PathId = Annotated[str, Path(min_length=1, max_length=64, pattern=ID_CHARS)]
CaseQuery = Annotated[str | None, Query(min_length=1, max_length=64, pattern=ID_CHARS)]
Code = Literal[JUSTIFICATIONS]  # type: ignore[valid-type]
Field_ = Literal[PII_FIELDS]  # type: ignore[valid-type]
CaseKind = Literal[CASE_KINDS]  # type: ignore[valid-type]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class JustificationIn(Strict):
    code: Code
    case_id: Id | None = None
    text: Annotated[str, Field(max_length=1000)] = ""

    def to_model(self) -> Justification:
        return Justification(self.code, self.case_id, self.text)


class RevealIn(Strict):
    fields: Annotated[list[Field_], Field(min_length=1, max_length=4)]
    justification: JustificationIn


class DecisionOut(BaseModel):
    outcome: str
    reason: str
    action: str
    ledger_index: int | None
    request_id: str | None = None
    checkpoint_size: int | None = Field(
        None, description="Size of the signed checkpoint that covers ledger_index (the receipt)"
    )


class RevealOut(BaseModel):
    decision: DecisionOut
    values: dict[str, str | None]


class MaskedOut(BaseModel):
    customer_id: str
    pseudonym: str
    name: str | None
    email: str | None
    phone: str | None
    erased: bool


class SearchOut(BaseModel):
    decision: DecisionOut
    results: list[MaskedOut]


class SearchIn(Strict):
    email: Annotated[str, Field(min_length=3, max_length=254)]
    justification: Code = "customer_contact"
    case_id: Id | None = None


class CustomerIn(Strict):
    customer_id: Id
    name: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    email: Annotated[str, Field(max_length=254)] | None = None
    phone: Annotated[str, Field(max_length=32)] | None = None
    country: Annotated[str, Field(pattern=r"^[A-Z]{2}$")] | None = None
    region: Annotated[str, Field(max_length=32)] | None = None
    language: Annotated[str, Field(max_length=16)] | None = None


class CaseIn(Strict):
    case_id: Id
    kind: CaseKind
    assignee: Id
    customer_id: Id | None = None
    seller_id: Id | None = None


class CaseOut(BaseModel):
    case_id: str
    kind: str
    assignee: str
    customer_id: str | None
    seller_id: str | None
    opened_at: datetime
    closed_at: datetime | None


class ResourceIn(Strict):
    kind: Literal["customer", "review", "seller"]
    ids: Annotated[list[Id], Field(min_length=1, max_length=10_000)]
    fields: Annotated[list[Field_], Field(max_length=4)] = []


class RequestIn(Strict):
    action: Literal["review.delete", "seller.reinstate", "customer.export"]
    resource: ResourceIn
    justification: JustificationIn


class PolicyIn(Strict):
    text: Annotated[str, Field(min_length=1, max_length=200_000)]


class BreakGlassIn(Strict):
    customer_id: Id
    reason: Annotated[str, Field(min_length=10, max_length=1000)]


class OutcomeOut(BaseModel):
    decision: DecisionOut
    result: dict[str, Any] | None = None
