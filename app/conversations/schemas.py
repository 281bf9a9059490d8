"""The chat API contract. These names are public: keep them stable."""

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

MAX_TEXT_CHARS = 4000


class ChatUser(BaseModel):
    id: str = Field(min_length=1, max_length=200)
    name: str | None = Field(default=None, max_length=200)


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    conversation_id: str | None = Field(default=None, min_length=1, max_length=64)
    channel: str = Field(default="web", pattern=r"^[a-z][a-z0-9_]{0,31}$")
    user: ChatUser
    text: str = Field(max_length=MAX_TEXT_CHARS)
    language: str | None = Field(default=None, pattern=r"^[a-z]{2,3}$")
    # The id of a suggestion the customer picked (a clarify button).
    choice: str | None = Field(default=None, max_length=200)
    # What the widget or messenger knows: page URL, locale, and so on.
    metadata: dict[str, Any] | None = None

    @field_validator("text")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must contain some text")
        return value


class ArticleRef(BaseModel):
    id: str
    title: str


class Suggestion(BaseModel):
    id: str
    title: str
    score: float


class ChatResponse(BaseModel):
    conversation_id: str
    message_id: int
    status: Literal["answered", "clarify", "handoff", "smalltalk"]
    reply: str
    article: ArticleRef | None
    confidence: float
    suggestions: list[Suggestion]
    debug: dict[str, Any] | None = None


class MessageOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    conversation_id: str
    role: str
    text: str
    author: str | None
    status: str | None
    article_id: str | None
    confidence: float | None
    created_at: datetime


class MessageList(BaseModel):
    conversation_id: str
    status: str
    items: list[MessageOut]


class FeedbackIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    value: Literal[1, -1]
    comment: str | None = Field(default=None, max_length=2000)
