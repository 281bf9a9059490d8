"""The analytics API contract (docs/METRICS.md). These names are public: keep them stable."""

from pydantic import BaseModel, Field


class Percentiles(BaseModel):
    p50: float | None
    p90: float | None


class Csat(BaseModel):
    thumbs_up: int
    thumbs_down: int
    helpful_share: float | None
    ratings_average: float | None
    ratings_count: int


class Savings(BaseModel):
    hours: float
    money: float
    currency: str


class Summary(BaseModel):
    from_: str = Field(alias="from")
    to: str
    channel: str | None
    language: str | None
    all_conversations: int
    conversations: int
    smalltalk_only_conversations: int
    direct_handoff_conversations: int
    kb_questions: int
    deflected_conversations: int
    deflection_rate: float
    automated_resolutions: int
    automated_resolution_rate: float
    durable_resolutions: int
    durable_resolution_rate: float
    handed_off_conversations: int
    handoff_rate: float
    handoffs: int
    handoffs_by_reason: dict[str, int]
    clarify_replies: int
    clarify_rate: float
    clarify_choice_taken_rate: float
    first_human_response_seconds: Percentiles
    resolution_seconds: Percentiles
    csat: Csat
    savings: Savings


class Point(BaseModel):
    t: str
    value: float
    conversations: int


class Timeseries(BaseModel):
    metric: str
    interval: str
    from_: str = Field(alias="from")
    to: str
    points: list[Point]


class ArticleStats(BaseModel):
    article_id: str
    title: str | None
    served: int
    helpful_share: float | None
    thumbs_up: int
    thumbs_down: int
    handoffs_after: int


class ArticleStatsList(BaseModel):
    from_: str = Field(alias="from")
    to: str
    items: list[ArticleStats]


class Trend(BaseModel):
    previous: int
    change: float | None
    direction: str


class Gap(BaseModel):
    id: str
    label: str
    count: int
    trend: Trend
    examples: list[str]
    language: str | None


class GapList(BaseModel):
    from_: str = Field(alias="from")
    to: str
    gaps: list[Gap]


class DraftOut(BaseModel):
    gap_id: str
    article_id: str
    status: str
    created: bool
    questions: int
