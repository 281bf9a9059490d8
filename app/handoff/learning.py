"""Learning from operators: a question they answered with an article becomes a proposed phrasing."""

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.conversations.models import Message
from app.db import utcnow
from app.errors import Conflict, NotFound
from app.handoff.models import Handoff, PhrasingSuggestion
from app.kb.models import Article
from app.kb.schemas import ArticleIn
from app.kb.service import put_article

ARTICLE_FIELDS = (
    "language",
    "title",
    "body",
    "questions",
    "tags",
    "status",
    "translation_group",
    "always_handoff",
    "answer_threshold",
    "handoff_threshold",
)


def unanswered_question(*, session: Session, handoff: Handoff) -> str | None:
    """The question recorded when the bot gave up, else the customer's first words to people.

    Texts the bot took as an intent ("позовите оператора", "спасибо") are never proposed: they
    are not questions an article answers.
    """
    rows = session.execute(
        select(Message.id, Message.role, Message.text, Message.intent)
        .where(Message.conversation_id == handoff.conversation_id)
        .order_by(Message.id)
    ).all()
    intent_texts = {
        rows[i - 1].text
        for i, row in enumerate(rows)
        if i and row.role == "bot" and row.intent and rows[i - 1].role == "customer"
    }
    if handoff.question and handoff.question not in intent_texts:
        return handoff.question
    after = handoff.trigger_message_id or 0
    questions = [r for r in rows if r.role == "customer" and r.text not in intent_texts]
    # The question the customer asked before calling for a person, else their first words to one.
    before = [r.text for r in questions if r.id <= after]
    later = [r.text for r in questions if r.id > after]
    return before[-1] if before else next(iter(later), None)


def propose_phrasing(
    *, session: Session, handoff: Handoff, article_id: str, by: str | None
) -> PhrasingSuggestion | None:
    phrasing = (unanswered_question(session=session, handoff=handoff) or "").strip()
    article = session.get(Article, article_id)
    if not phrasing or article is None or len(phrasing) > 1000:
        return None
    known = {q.casefold() for q in article.questions or []} | {article.title.casefold()}
    if phrasing.casefold() in known:
        return None
    duplicate = session.scalar(
        select(PhrasingSuggestion.id).where(
            PhrasingSuggestion.article_id == article_id,
            PhrasingSuggestion.status == "pending",
            func.lower(PhrasingSuggestion.phrasing) == phrasing.lower(),
        )
    )
    if duplicate is not None:
        return None
    suggestion = PhrasingSuggestion(
        article_id=article_id,
        phrasing=phrasing,
        language=article.language,
        handoff_id=handoff.id,
        proposed_by=by,
    )
    session.add(suggestion)
    session.flush()
    return suggestion


def list_suggestions(
    *, session: Session, status: str = "pending", limit: int = 100
) -> list[PhrasingSuggestion]:
    return list(
        session.scalars(
            select(PhrasingSuggestion)
            .where(PhrasingSuggestion.status == status)
            .order_by(PhrasingSuggestion.id)
            .limit(limit)
        )
    )


def _pending(session: Session, suggestion_id: int) -> PhrasingSuggestion:
    suggestion = session.get(PhrasingSuggestion, suggestion_id)
    if suggestion is None:
        raise NotFound(f"Suggestion {suggestion_id} does not exist.", suggestion_id=suggestion_id)
    if suggestion.status != "pending":
        raise Conflict(
            f"Suggestion {suggestion_id} is already {suggestion.status}.",
            suggestion_id=suggestion_id,
        )
    return suggestion


def approve(
    *, session: Session, suggestion_id: int, by: str, phrasing: str | None = None
) -> PhrasingSuggestion:
    """Adds the phrasing to the article's questions (which bumps the KB version)."""
    suggestion = _pending(session, suggestion_id)
    article = session.get(Article, suggestion.article_id)
    if article is None:
        raise Conflict(
            f"Article {suggestion.article_id!r} no longer exists; reject the suggestion.",
            suggestion_id=suggestion_id,
        )
    if phrasing is not None:
        suggestion.phrasing = phrasing.strip()
    fields = {name: getattr(article, name) for name in ARTICLE_FIELDS}
    fields["questions"] = [*(article.questions or []), suggestion.phrasing]
    put_article(session=session, article_id=article.id, article_in=ArticleIn.model_validate(fields))
    suggestion.status = "approved"
    suggestion.decided_by = by
    suggestion.decided_at = utcnow()
    session.flush()
    return suggestion


def reject(*, session: Session, suggestion_id: int, by: str) -> PhrasingSuggestion:
    suggestion = _pending(session, suggestion_id)
    suggestion.status = "rejected"
    suggestion.decided_by = by
    suggestion.decided_at = utcnow()
    session.flush()
    return suggestion
