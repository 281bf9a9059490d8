"""Plain values the matching engine reads and returns; no database, no web."""

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class ArticleDoc:
    """A published article as the index sees it."""

    id: str
    language: str
    title: str
    body: str = ""
    questions: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    always_handoff: bool = False
    answer_threshold: float | None = None
    handoff_threshold: float | None = None


@dataclass(frozen=True, slots=True)
class Candidate:
    article_id: str
    title: str
    language: str
    score: float  # the ranking score the engine combined, in [0, 1]
    phrasing: str = ""  # the title or question that matched best
    terms: tuple[str, ...] = ()  # query words that also occur in that phrasing


@dataclass(frozen=True, slots=True)
class Match:
    """What the engine concluded about one message."""

    candidates: tuple[Candidate, ...]
    confidence: float  # calibrated probability that candidates[0] is right
    language: str | None
    normalized: str
    conversions: tuple[tuple[str, str], ...] = ()
    features: dict[str, float] = field(default_factory=dict)
    known_words: tuple[str, ...] = ()  # the message's words that the index has seen
    kb_version: int = 0  # the knowledge-base version of the index that answered

    @property
    def top(self) -> Candidate | None:
        return self.candidates[0] if self.candidates else None
