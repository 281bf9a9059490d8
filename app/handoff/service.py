"""The operator queue: open, claim, reply, release, resolve, rate, and the SLA requeue."""

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from app.channels.delivery import deliver_to_customer
from app.conversations.models import Conversation, Message
from app.conversations.schemas import MessageOut
from app.db import utcnow
from app.errors import Conflict, Forbidden, InvalidInput, NotFound
from app.handoff import events
from app.handoff.models import Handoff
from app.kb.models import Article

ACTIVE = ("waiting", "assigned")


class HandoffNotFound(NotFound):
    def __init__(self, handoff_id: int) -> None:
        super().__init__(f"Handoff {handoff_id} does not exist.", handoff_id=handoff_id)


def message_payload(message: Message) -> dict[str, Any]:
    """The same JSON object as an item of GET /v1/conversations/{id}/messages."""
    return MessageOut.model_validate(message).model_dump(mode="json")


def summary(handoff: Handoff) -> dict[str, Any]:
    return {
        "handoff_id": handoff.id,
        "conversation_id": handoff.conversation_id,
        "status": handoff.status,
        "reason": handoff.reason,
        "operator": handoff.operator_name,
        "question": handoff.question,
    }


def get_handoff(*, session: Session, handoff_id: int) -> Handoff:
    handoff = session.get(Handoff, handoff_id)
    if handoff is None:
        raise HandoffNotFound(handoff_id)
    return handoff


def active_handoff(*, session: Session, conversation_id: str) -> Handoff | None:
    return session.scalar(
        select(Handoff)
        .where(Handoff.conversation_id == conversation_id, Handoff.status.in_(ACTIVE))
        .order_by(Handoff.id.desc())
        .limit(1)
    )


def latest_handoff(*, session: Session, conversation_id: str) -> Handoff | None:
    return session.scalar(
        select(Handoff)
        .where(Handoff.conversation_id == conversation_id)
        .order_by(Handoff.id.desc())
        .limit(1)
    )


def queue_position(*, session: Session, handoff: Handoff) -> int | None:
    """1 for the oldest waiting handoff; None unless this one is waiting."""
    if handoff.status != "waiting":
        return None
    ahead = session.scalar(
        select(func.count())
        .select_from(Handoff)
        .where(
            Handoff.status == "waiting",
            or_(
                Handoff.created_at < handoff.created_at,
                and_(Handoff.created_at == handoff.created_at, Handoff.id < handoff.id),
            ),
        )
    )
    return int(ahead or 0) + 1


def open_handoff(
    *,
    session: Session,
    conversation: Conversation,
    reason: str,
    candidates: list[dict[str, Any]],
    question: str | None,
    trigger_message_id: int | None,
    now: datetime | None = None,
    operator_name: str | None = None,
    previous_handoff_id: int | None = None,
) -> Handoff:
    """Puts the conversation with people: waiting in the queue, or straight to `operator_name`."""
    now = now or utcnow()
    handoff = Handoff(
        conversation_id=conversation.id,
        reason=reason,
        status="assigned" if operator_name else "waiting",
        operator_name=operator_name,
        created_at=now,
        queued_at=now,
        claimed_at=now if operator_name else None,
        candidates=candidates,
        question=question,
        trigger_message_id=trigger_message_id,
        previous_handoff_id=previous_handoff_id,
    )
    session.add(handoff)
    conversation.status = "handoff"
    conversation.handoff_reason = reason
    conversation.pending_choices = []
    conversation.miss_streak = 0
    session.flush()
    events.publish(
        session=session,
        audience="operator",
        type="handoff",
        conversation_id=conversation.id,
        payload={
            **summary(handoff),
            "customer": {"channel": conversation.channel, "name": conversation.user_name},
            "created_at": now.isoformat(),
        },
    )
    return handoff


def list_handoffs(*, session: Session, status: str, limit: int = 100) -> list[Handoff]:
    query = select(Handoff).where(Handoff.status == status)
    if status == "resolved":
        query = query.order_by(Handoff.resolved_at.desc(), Handoff.id.desc())
    else:
        query = query.order_by(Handoff.created_at, Handoff.id)
    return list(session.scalars(query.limit(limit)))


def _publish_status(session: Session, handoff: Handoff, change: str) -> None:
    events.publish(
        session=session,
        audience="operator",
        type="status",
        conversation_id=handoff.conversation_id,
        payload={**summary(handoff), "change": change},
    )


def claim(
    *, session: Session, handoff_id: int, operator_name: str, now: datetime | None = None
) -> Handoff:
    """One conditional UPDATE: of concurrent claims exactly one changes the row."""
    now = now or utcnow()
    won = session.execute(
        update(Handoff)
        .where(Handoff.id == handoff_id, Handoff.status == "waiting")
        .values(status="assigned", operator_name=operator_name, claimed_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    handoff = session.get(Handoff, handoff_id, populate_existing=True)
    if handoff is None:
        raise HandoffNotFound(handoff_id)
    if not won:
        holder = f" by {handoff.operator_name}" if handoff.operator_name else ""
        raise Conflict(
            f"Handoff {handoff_id} is already {handoff.status}{holder}.",
            handoff_id=handoff_id,
            handoff_status=handoff.status,
            operator=handoff.operator_name,
        )
    _publish_status(session, handoff, "claimed")
    return handoff


def _held_by(handoff: Handoff, operator_name: str, role: str, action: str) -> None:
    if handoff.status == "resolved":
        raise Conflict(f"Handoff {handoff.id} is already resolved.", handoff_id=handoff.id)
    if handoff.status == "waiting":
        if role == "admin" and action == "resolve":
            return
        raise Conflict(f"Claim handoff {handoff.id} before you {action} it.", handoff_id=handoff.id)
    if handoff.operator_name != operator_name and role != "admin":
        raise Forbidden(
            f"Handoff {handoff.id} is assigned to {handoff.operator_name}.", handoff_id=handoff.id
        )


def _article(session: Session, article_id: str) -> Article:
    article = session.get(Article, article_id)
    if article is None:
        raise InvalidInput(f"Article {article_id!r} does not exist.", article_id=article_id)
    return article


def post_operator_message(
    *,
    session: Session,
    handoff_id: int,
    operator_name: str,
    role: str,
    text: str | None,
    article_id: str | None,
    now: datetime | None = None,
) -> Message:
    """Stores the reply in the transcript and hands it to the customer's channel."""
    now = now or utcnow()
    handoff = get_handoff(session=session, handoff_id=handoff_id)
    _held_by(handoff, operator_name, role, "answer")
    if article_id is not None:
        article = _article(session, article_id)
        text = article.body or article.title
    conversation = session.get(Conversation, handoff.conversation_id)
    assert conversation is not None  # the foreign key guarantees it
    message = Message(
        conversation_id=conversation.id,
        role="operator",
        text=text or "",
        author=operator_name,
        article_id=article_id,
        language=conversation.language,
        created_at=now,
    )
    session.add(message)
    session.flush()
    handoff.first_response_at = handoff.first_response_at or now
    handoff.last_operator_message_at = now
    deliver_to_customer(session=session, conversation=conversation, message=message)
    events.publish(
        session=session,
        audience="operator",
        type="message",
        conversation_id=conversation.id,
        payload={**message_payload(message), "handoff_id": handoff.id},
    )
    return message


def release(
    *, session: Session, handoff_id: int, operator_name: str, role: str, now: datetime | None = None
) -> Handoff:
    handoff = get_handoff(session=session, handoff_id=handoff_id)
    _held_by(handoff, operator_name, role, "release")
    _back_to_queue(handoff, now or utcnow())
    session.flush()
    _publish_status(session, handoff, "released")
    return handoff


def _back_to_queue(handoff: Handoff, now: datetime) -> None:
    handoff.status = "waiting"
    handoff.operator_name = None
    handoff.claimed_at = None
    handoff.queued_at = now


def resolve(
    *,
    session: Session,
    handoff_id: int,
    operator_name: str,
    role: str,
    article_id: str | None,
    note: str | None,
    now: datetime | None = None,
) -> Handoff:
    """Closes the handoff; the conversation goes back to the bot."""
    from app.handoff.learning import propose_phrasing

    now = now or utcnow()
    handoff = get_handoff(session=session, handoff_id=handoff_id)
    _held_by(handoff, operator_name, role, "resolve")
    if article_id is not None:
        _article(session, article_id)
    handoff.status = "resolved"
    handoff.resolved_at = now
    handoff.resolution_article_id = article_id
    handoff.resolution_note = note
    handoff.operator_name = handoff.operator_name or operator_name
    conversation = session.get(Conversation, handoff.conversation_id)
    if conversation is not None and conversation.status == "handoff":
        conversation.status = "bot"
        conversation.pending_choices = []
        conversation.miss_streak = 0
    session.flush()
    if article_id is not None:
        propose_phrasing(session=session, handoff=handoff, article_id=article_id, by=operator_name)
    _publish_status(session, handoff, "resolved")
    return handoff


def requeue_stale_claims(
    *, session: Session, minutes: float, now: datetime | None = None
) -> list[int]:
    """Claimed handoffs whose operator has said nothing for `minutes` go back to the queue.

    Each row moves with its own conditional UPDATE, so several workers running this at once,
    or an operator answering at the same moment, never double-move a handoff.
    """
    now = now or utcnow()
    cutoff = now - timedelta(minutes=minutes)
    silent = and_(
        Handoff.status == "assigned",
        Handoff.claimed_at < cutoff,
        or_(
            Handoff.last_operator_message_at.is_(None),
            Handoff.last_operator_message_at < Handoff.claimed_at,
        ),
    )
    moved: list[int] = []
    for handoff_id in list(session.scalars(select(Handoff.id).where(silent))):
        changed = session.execute(
            update(Handoff)
            .where(Handoff.id == handoff_id, silent)
            .values(status="waiting", operator_name=None, claimed_at=None, queued_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount  # type: ignore[attr-defined]
        if changed:
            handoff = session.get(Handoff, handoff_id, populate_existing=True)
            assert handoff is not None
            _publish_status(session, handoff, "requeued")
            moved.append(handoff_id)
    return moved


def rate(*, session: Session, conversation_id: str, score: int, comment: str | None) -> Handoff:
    if session.get(Conversation, conversation_id) is None:
        raise NotFound(f"Conversation {conversation_id!r} does not exist.")
    handoff = session.scalar(
        select(Handoff)
        .where(Handoff.conversation_id == conversation_id, Handoff.status == "resolved")
        .order_by(Handoff.resolved_at.desc(), Handoff.id.desc())
        .limit(1)
    )
    if handoff is None:
        raise Conflict("There is no resolved handoff in this conversation to rate yet.")
    handoff.rating = score
    handoff.rating_comment = comment
    session.flush()
    events.publish(
        session=session,
        audience="operator",
        type="rating",
        conversation_id=conversation_id,
        payload={**summary(handoff), "rating": score, "comment": comment},
    )
    return handoff
