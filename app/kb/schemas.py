"""The editor API's request and response bodies."""

import json
import re
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,199}$")
MAX_BODY_CHARS = 200_000
MAX_ARTICLE_BYTES = 200 * 1024  # the whole article as UTF-8 JSON


class ArticleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    language: str = Field(min_length=2, max_length=16, pattern=r"^[a-z]{2,3}([-_][A-Za-z]{2,4})?$")
    title: str = Field(min_length=1, max_length=500)
    body: str = Field(default="", max_length=MAX_BODY_CHARS)
    questions: list[str] = Field(default_factory=list, max_length=500)
    tags: list[str] = Field(default_factory=list, max_length=50)
    categories: list[str] = Field(default_factory=list, max_length=20)
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

    @field_validator("questions", "tags", "categories")
    @classmethod
    def _drop_blank(cls, values: list[str]) -> list[str]:
        cleaned = [v.strip() for v in values if v.strip()]
        if any(len(v) > 1000 for v in cleaned):
            raise ValueError("each item must be at most 1000 characters")
        return list(dict.fromkeys(cleaned))

    @field_validator("translation_group")
    @classmethod
    def _blank_group_is_none(cls, value: str | None) -> str | None:
        return value.strip() or None if value is not None else None

    @model_validator(mode="after")
    def _within_size_limit(self) -> "ArticleIn":
        size = len(json.dumps(self.model_dump(), ensure_ascii=False).encode())
        if size > MAX_ARTICLE_BYTES:
            raise ValueError(
                f"the article is {size // 1024} KB; the limit is {MAX_ARTICLE_BYTES // 1024} KB"
            )
        return self


class QualityWarning(BaseModel):
    """A quality finding on save; the save itself went through."""

    kind: Literal["near_duplicate", "question_collision", "regression", "checks_skipped"]
    message: str
    article_id: str | None = None
    other_article_id: str | None = None
    similarity: float | None = None
    phrasing: str | None = None
    text: str | None = None
    expected_article_id: str | None = None
    before: str | None = None
    after: str | None = None


class ArticleOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    language: str
    title: str
    body: str
    questions: list[str]
    tags: list[str]
    categories: list[str] = Field(default_factory=list)
    status: str
    translation_group: str | None
    translations: dict[str, str] = Field(
        default_factory=dict, description="language -> id of the other articles in the group"
    )
    always_handoff: bool
    answer_threshold: float | None
    handoff_threshold: float | None
    created_at: datetime
    updated_at: datetime


class ArticleSaved(ArticleOut):
    warnings: list[QualityWarning] = Field(default_factory=list)


class ArticleList(BaseModel):
    items: list[ArticleOut]
    total: int


class SynonymsBody(BaseModel):
    """The whole editable dictionary: word -> canonical word or phrase."""

    synonyms: dict[str, str]


class RevisionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    number: int
    action: str
    source: str
    author: str
    created_at: datetime
    changed: list[str]
    diff: dict[str, Any]
    content: dict[str, Any]


class RevisionList(BaseModel):
    article_id: str
    items: list[RevisionOut]


class AuditOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    created_at: datetime
    author: str
    action: str
    target: str | None
    details: dict[str, Any]


class AuditList(BaseModel):
    items: list[AuditOut]
    total: int


class RegressionItemIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=1000)
    expected_article_id: str = Field(pattern=SLUG.pattern)


class RegressionSet(BaseModel):
    items: list[RegressionItemIn] = Field(max_length=1000)


class Rejection(BaseModel):
    file: str
    line: int | None = None
    id: str | None = None
    reason: str


class ImportReport(BaseModel):
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    created_ids: list[str] = Field(default_factory=list)
    updated_ids: list[str] = Field(default_factory=list)
    rejected: list[Rejection] = Field(default_factory=list)
    warnings: list[QualityWarning] = Field(default_factory=list)
    atomic: bool = False
    kb_version: int | None = None
