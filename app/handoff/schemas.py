"""Request and response bodies of the operator queue, the customer's handoff and learning."""

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from app.conversations.schemas import MAX_TEXT_CHARS, MessageOut

HandoffStatus = Literal["waiting", "assigned", "resolved"]


def _strip(value: str | None) -> str | None:
    if value is None:
        return None
    if not value.strip():
        raise ValueError("must contain some text")
    return value.strip()


class CustomerHandoffIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str | None = Field(default=None, max_length=MAX_TEXT_CHARS)

    _text = field_validator("text")(_strip)


class CustomerHandoffOut(BaseModel):
    handoff_id: int
    conversation_id: str
    status: HandoffStatus
    queue_position: int | None
    reply: str
    created: bool


class OperatorMessageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str | None = Field(default=None, max_length=MAX_TEXT_CHARS)
    article_id: str | None = Field(default=None, min_length=1, max_length=200)

    _text = field_validator("text")(_strip)

    @model_validator(mode="after")
    def _exactly_one(self) -> "OperatorMessageIn":
        if (self.text is None) == (self.article_id is None):
            raise ValueError("send either text or article_id")
        return self


class ResolveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    article_id: str | None = Field(default=None, min_length=1, max_length=200)
    note: str | None = Field(default=None, max_length=4000)


class RatingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    score: int = Field(ge=1, le=5)
    comment: str | None = Field(default=None, max_length=2000)


class RatingOut(BaseModel):
    handoff_id: int
    score: int


class CandidateOut(BaseModel):
    id: str
    title: str | None
    score: float | None


class CustomerOut(BaseModel):
    channel: str
    user_id: str
    name: str | None
    language: str | None
    metadata: dict[str, Any]


class HandoffOut(BaseModel):
    id: int
    conversation_id: str
    reason: str
    status: HandoffStatus
    operator_name: str | None
    question: str | None
    queue_position: int | None
    customer: CustomerOut
    candidates: list[CandidateOut]
    created_at: datetime
    waiting_since: datetime
    claimed_at: datetime | None
    first_response_at: datetime | None
    resolved_at: datetime | None
    resolution_article_id: str | None
    resolution_note: str | None
    rating: int | None
    previous_handoff_id: int | None


class HandoffPacket(HandoffOut):
    """Everything an operator needs: the handoff, the customer, the whole transcript."""

    transcript: list[MessageOut]


class HandoffList(BaseModel):
    items: list[HandoffOut]


class SuggestionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    article_id: str
    phrasing: str
    language: str | None
    handoff_id: int | None
    status: str
    proposed_by: str | None
    decided_by: str | None
    created_at: datetime
    decided_at: datetime | None


class SuggestionList(BaseModel):
    items: list[SuggestionOut]


class ApproveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    phrasing: str | None = Field(default=None, max_length=1000)

    _phrasing = field_validator("phrasing")(_strip)
