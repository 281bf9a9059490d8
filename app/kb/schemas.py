"""The editor API's request and response bodies."""

import re
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,199}$")
MAX_BODY_CHARS = 200_000


class ArticleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    language: str = Field(min_length=2, max_length=16, pattern=r"^[a-z]{2,3}([-_][A-Za-z]{2,4})?$")
    title: str = Field(min_length=1, max_length=500)
    body: str = Field(default="", max_length=MAX_BODY_CHARS)
    questions: list[str] = Field(default_factory=list, max_length=500)
    tags: list[str] = Field(default_factory=list, max_length=50)
    status: Literal["draft", "published"] = "published"
    translation_group: str | None = Field(default=None, max_length=200)
    always_handoff: bool = False
    answer_threshold: float | None = Field(default=None, ge=0, le=1)
    handoff_threshold: float | None = Field(default=None, ge=0, le=1)

    @field_validator("title")
    @classmethod
    def _title_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value.strip()

    @field_validator("questions", "tags")
    @classmethod
    def _drop_blank(cls, values: list[str]) -> list[str]:
        cleaned = [v.strip() for v in values if v.strip()]
        if any(len(v) > 1000 for v in cleaned):
            raise ValueError("each item must be at most 1000 characters")
        return list(dict.fromkeys(cleaned))


class ArticleOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    language: str
    title: str
    body: str
    questions: list[str]
    tags: list[str]
    status: str
    translation_group: str | None
    always_handoff: bool
    answer_threshold: float | None
    handoff_threshold: float | None
    created_at: datetime
    updated_at: datetime


class ArticleList(BaseModel):
    items: list[ArticleOut]
    total: int


class SynonymsBody(BaseModel):
    """The whole editable dictionary: word -> canonical word or phrase."""

    synonyms: dict[str, str]
