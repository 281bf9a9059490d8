"""Content gaps: the questions the bot could not answer, clustered into topics.

The corpus (docs/METRICS.md, "Content gaps") is every customer message whose bot reply was a
miss — a low-confidence, clarify-ignored or repeated-failure handoff, or a clarify whose choices
were not taken — plus the question recorded on each handoff a customer asked for. Texts are
TF-IDF vectors of character n-grams (robust to Russian inflection and typos) clustered by
average-linkage agglomerative clustering on cosine distance with a fixed threshold, so the
number of topics follows the data and two questions are enough to make a topic.
"""

import hashlib
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from sklearn.cluster import AgglomerativeClustering
from sklearn.feature_extraction.text import TfidfVectorizer
from sqlalchemy import delete, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from app.analytics.models import ContentGap
from app.analytics.service import Scope
from app.conversations.models import Message
from app.conversations.policy import CLARIFY_CHOICES
from app.errors import NotFound
from app.handoff.models import Handoff
from app.kb.schemas import ArticleIn
from app.kb.service import put_article

MISS_REASONS = ("low_confidence", "clarify_ignored", "repeated_failure")
MAX_QUESTIONS = 2_000  # the most recent; the distance matrix is quadratic
DISTANCE_THRESHOLD = 0.8  # average cosine distance at which two topics stay apart
EXAMPLES = 5
KEEP_DAYS = 30


@dataclass(frozen=True, slots=True)
class Question:
    key: str  # "m<message id>" or "h<handoff id>"
    conversation_id: str
    text: str
    language: str | None
    created_at: datetime
    current: bool


def _offered(reply: Message) -> set[str]:
    candidates = (reply.details or {}).get("candidates") or []
    return {c.get("id") for c in candidates[:CLARIFY_CHOICES] if isinstance(c, dict)}


def collect(*, session: Session, scope: Scope) -> list[Question]:
    """Unanswered questions of the period and of the one before it (same length)."""
    previous_start = scope.start - (scope.end - scope.start)
    window = (Message.created_at >= previous_start, Message.created_at < scope.end)
    misses = select(Message.conversation_id).where(
        *window,
        Message.role == "bot",
        or_(
            Message.status == "clarify",
            (Message.status == "handoff") & Message.reason.in_(MISS_REASONS),
        ),
    )
    handoffs = list(
        session.scalars(
            select(Handoff).where(
                Handoff.created_at >= previous_start,
                Handoff.created_at < scope.end,
                Handoff.question.is_not(None),
            )
        )
    )
    conversation_ids = set(session.scalars(misses.distinct())) | {
        h.conversation_id for h in handoffs
    }
    found: dict[tuple[str, str], Question] = {}
    texts: dict[int, str] = {}
    ids = sorted(conversation_ids)
    for start in range(0, len(ids), 500):
        rows = session.scalars(
            select(Message)
            .where(Message.conversation_id.in_(ids[start : start + 500]))
            .order_by(Message.conversation_id, Message.id)
        )
        by_conversation: dict[str, list[Message]] = defaultdict(list)
        for row in rows:
            by_conversation[row.conversation_id].append(row)
            texts[row.id] = row.text
        for conversation_id, messages in by_conversation.items():
            for question in _misses_in(messages, scope, previous_start):
                found.setdefault((conversation_id, question.text.casefold()), question)
    for handoff in handoffs:
        text = (handoff.question or "").strip()
        if not text:
            continue
        if handoff.reason == "human_request" and texts.get(handoff.trigger_message_id or 0) == (
            handoff.question
        ):
            continue  # "talk to a person" itself, with no question the bot missed before it
        question = Question(
            key=f"h{handoff.id}",
            conversation_id=handoff.conversation_id,
            text=text,
            language=None,
            created_at=handoff.created_at,
            current=handoff.created_at >= scope.start,
        )
        found.setdefault((handoff.conversation_id, text.casefold()), question)
    questions = sorted(found.values(), key=lambda q: q.created_at, reverse=True)
    return questions[:MAX_QUESTIONS]


def _misses_in(messages: list[Message], scope: Scope, previous_start: datetime) -> list[Question]:
    out = []
    bots = [m for m in messages if m.role == "bot"]
    for position, message in enumerate(messages):
        if message.role != "customer" or not (previous_start <= message.created_at < scope.end):
            continue
        reply = next((m for m in messages[position + 1 :] if m.role != "customer"), None)
        if reply is None or reply.role != "bot":
            continue
        missed = reply.status == "handoff" and reply.reason in MISS_REASONS
        if reply.status == "clarify":
            later = [b for b in bots if b.id > reply.id and b.reason != "queue_notice"]
            taken = bool(later) and later[0].status == "answered"
            missed = not (taken and later[0].article_id in _offered(reply))
        if missed:
            out.append(
                Question(
                    key=f"m{message.id}",
                    conversation_id=message.conversation_id,
                    text=message.text.strip(),
                    language=message.language or reply.language,
                    created_at=message.created_at,
                    current=message.created_at >= scope.start,
                )
            )
    return out


def cluster(texts: list[str]) -> list[int]:
    """A topic label per text."""
    if len(texts) < 2:
        return [0] * len(texts)
    vectors = TfidfVectorizer(
        analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True, lowercase=True
    ).fit_transform(texts)
    similarity = (vectors @ vectors.T).toarray().astype(np.float32)
    distance = np.clip(1.0 - similarity, 0.0, 2.0)
    np.fill_diagonal(distance, 0.0)
    model = AgglomerativeClustering(
        n_clusters=None,
        metric="precomputed",
        linkage="average",
        distance_threshold=DISTANCE_THRESHOLD,
    )
    return [int(label) for label in model.fit_predict(distance)]


def _medoid(texts: list[str]) -> str:
    if len(texts) <= 2:
        return texts[0]
    vectors = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5)).fit_transform(texts)
    centrality = np.asarray((vectors @ vectors.T).sum(axis=1)).ravel()
    return texts[int(np.argmax(centrality))]


def _trend(count: int, previous: int) -> dict[str, Any]:
    if previous == 0:
        return {"previous": 0, "change": None, "direction": "new"}
    change = round((count - previous) / previous, 4)
    direction = "up" if count > previous else "down" if count < previous else "flat"
    return {"previous": previous, "change": change, "direction": direction}


def find_gaps(
    *, session: Session, scope: Scope, questions: list[Question], limit: int
) -> list[dict[str, Any]]:
    labels = cluster([q.text for q in questions])
    groups: dict[int, list[Question]] = defaultdict(list)
    for label, question in zip(labels, questions, strict=True):
        groups[label].append(question)
    gaps = []
    for members in groups.values():
        current = [q for q in members if q.current]
        if not current:
            continue
        keys = sorted(q.key for q in members)
        gap_id = "g" + hashlib.sha1("|".join(keys).encode()).hexdigest()[:12]
        languages = Counter(q.language for q in members if q.language)
        texts = list(dict.fromkeys(q.text for q in members))
        gaps.append(
            {
                "id": gap_id,
                "label": _medoid(list(dict.fromkeys(q.text for q in current)))[:120],
                "count": len(current),
                "trend": _trend(len(current), len(members) - len(current)),
                "examples": list(dict.fromkeys(q.text for q in current))[:EXAMPLES],
                "language": languages.most_common(1)[0][0] if languages else None,
                "questions": texts[:100],
            }
        )
    gaps.sort(key=lambda g: (-g["count"], -g["trend"]["previous"], g["label"]))
    return gaps[:limit]


def remember(*, session: Session, gaps: list[dict[str, Any]], now: datetime) -> None:
    """Stores the gaps as shown, so POST .../draft turns exactly what the user saw."""
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    for gap in gaps:
        statement = insert(ContentGap).values(
            id=gap["id"],
            label=gap["label"],
            language=gap["language"],
            questions=gap["questions"],
            details={"count": gap["count"], "examples": gap["examples"]},
            computed_at=now,
        )
        session.execute(
            statement.on_conflict_do_update(
                index_elements=["id"], set_={"computed_at": statement.excluded.computed_at}
            )
        )
    cutoff = now.timestamp() - KEEP_DAYS * 86400
    session.execute(
        delete(ContentGap).where(
            ContentGap.draft_article_id.is_(None),
            ContentGap.computed_at < datetime.fromtimestamp(cutoff, tz=now.tzinfo),
        )
    )


def gaps_report(*, session: Session, scope: Scope, now: datetime, limit: int) -> dict[str, Any]:
    questions = _in_scope(session, scope, collect(session=session, scope=scope))
    gaps = find_gaps(session=session, scope=scope, questions=questions, limit=limit)
    remember(session=session, gaps=gaps, now=now)
    public = [{k: v for k, v in g.items() if k != "questions"} for g in gaps]
    return {"from": scope.start.isoformat(), "to": scope.end.isoformat(), "gaps": public}


def _in_scope(session: Session, scope: Scope, questions: list[Question]) -> list[Question]:
    if not (scope.channel or scope.language):
        return questions
    from app.conversations.models import Conversation

    ids = sorted({q.conversation_id for q in questions})
    keep: set[str] = set()
    for start in range(0, len(ids), 500):
        query = select(Conversation.id).where(Conversation.id.in_(ids[start : start + 500]))
        if scope.channel:
            query = query.where(Conversation.channel == scope.channel)
        if scope.language:
            query = query.where(Conversation.language == scope.language)
        keep.update(session.scalars(query))
    return [q for q in questions if q.conversation_id in keep]


class GapNotFound(NotFound):
    def __init__(self, gap_id: str) -> None:
        super().__init__(
            f"Gap {gap_id!r} is unknown; list the gaps again (GET /v1/analytics/gaps) and use "
            "an id from that list.",
            gap_id=gap_id,
        )


def draft_article(
    *, session: Session, gap_id: str, author: str, default_language: str
) -> tuple[str, bool, int]:
    """Turns a gap into a draft article with its questions as phrasings.

    Returns the article id, whether it was created now, and the number of phrasings. A second
    call returns the same draft.
    """
    gap = session.get(ContentGap, gap_id)
    if gap is None:
        raise GapNotFound(gap_id)
    article_id = gap.draft_article_id or f"draft-{gap_id}"
    from app.kb.models import Article

    existing = session.get(Article, article_id)
    if existing is not None:
        gap.draft_article_id = article_id
        return article_id, False, len(existing.questions or [])
    questions = [q[:1000] for q in gap.questions if q.strip()][:500]
    article_in = ArticleIn(
        language=gap.language or default_language,
        title=gap.label[:500] or "Content gap",
        body="",
        questions=questions,
        status="draft",
    )
    put_article(
        session=session,
        article_id=article_id,
        article_in=article_in,
        author=author,
        source=f"analytics-gap:{gap_id}",
    )
    gap.draft_article_id = article_id
    return article_id, True, len(article_in.questions)


__all__ = ["GapNotFound", "draft_article", "gaps_report"]
