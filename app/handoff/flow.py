"""The hooks the chat service calls: when to hand off, and what happens while people have it.

Definitions (docs/HANDOFF.md):
- a *miss* is a bot reply that did not understand: a clarify, or a low-confidence handoff.
  Answers reset the streak; small talk leaves it as it is.
- *clarify ignored*: the last reply offered choices and the next message is again unclear.
- *repeated failure*: the second miss in a row, or a question that repeats one whose answer
  got 👎 (similar wording, or the bot would give the same disliked article again).
"""

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from rapidfuzz import fuzz
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from app.conversations.models import Conversation, Feedback, Message
from app.conversations.policy import Decision, message
from app.db import utcnow
from app.handoff import events, notices, sentiment
from app.handoff.hours import BusinessHours
from app.handoff.service import (
    active_handoff,
    latest_handoff,
    message_payload,
    open_handoff,
    queue_position,
)
from app.settings import Settings

SIMILAR_QUESTION = 80  # rapidfuzz token_set_ratio, 0..100
FEEDBACK_LOOKBACK = 3  # bot replies checked for a 👎
EXPLICIT = ("human_request", "customer_button")
BOT_MISSES = ("low_confidence", "clarify_ignored", "repeated_failure")


def _is_miss(decision: Decision) -> bool:
    return decision.status == "clarify" or (
        decision.status == "handoff" and decision.reason == "low_confidence"
    )


def _to_handoff(decision: Decision, reason: str, reply: str, **extra: Any) -> Decision:
    return replace(
        decision, status="handoff", reason=reason, reply=reply, extra={**decision.extra, **extra}
    )


def escalate(
    *,
    session: Session,
    conversation: Conversation,
    text: str,
    decision: Decision,
    disliked_before: bool | None = None,
) -> Decision:
    """Turns the policy's decision into a handoff when the conversation calls for a person.

    `disliked_before`: whether the customer has given a 👎 in this conversation, when the caller
    read it already (DISLIKED_ANSWER); None looks it up."""
    language = decision.language
    missed = _is_miss(decision)
    if decision.status == "answered":
        if conversation.miss_streak != 0:  # an equal value would still be flushed for nothing
            conversation.miss_streak = 0
    elif missed:
        conversation.miss_streak = (conversation.miss_streak or 0) + 1

    if decision.status == "handoff" and decision.reason != "low_confidence":
        return decision  # asked for a person, or an article only a person handles
    mood = sentiment.assess(text)
    if mood.strongly_negative:  # an angry customer goes to a person whatever the bot knows
        reply = notices.text("negative_sentiment", language)
        if decision.status == "answered":  # still give the answer; a person follows up
            reply += f"\n\n{notices.text('meanwhile', language)}\n{decision.reply}"
        return _to_handoff(decision, "negative_sentiment", reply, sentiment=list(mood.signals))
    if decision.status == "handoff":
        if conversation.pending_choices:
            return replace(decision, reason="clarify_ignored")
        return decision
    if decision.status == "clarify" and conversation.pending_choices:
        return _to_handoff(decision, "clarify_ignored", message("handoff", language))
    if missed and conversation.miss_streak >= 2:
        return _to_handoff(decision, "repeated_failure", notices.text("repeated_failure", language))
    if disliked_before is not False and _repeats_disliked_answer(
        session, conversation, text, decision
    ):
        return _to_handoff(decision, "repeated_failure", notices.text("repeated_failure", language))
    return decision


# Built once: SQLAlchemy's compiled-statement cache still has to compute a new statement's cache
# key at each call, more than half of this query's cost on SQLite.
_DISLIKED = select(Feedback.message_id).where(
    Feedback.conversation_id == bindparam("conversation_id"), Feedback.value < 0
)
# The same question as a column beside a conversation: select(Conversation, DISLIKED_ANSWER).
DISLIKED_ANSWER = (
    select(Feedback.id)
    .where(Feedback.conversation_id == Conversation.id, Feedback.value < 0)
    .exists()
    .label("disliked_answer")
)


def _repeats_disliked_answer(
    session: Session, conversation: Conversation, text: str, decision: Decision
) -> bool:
    # Most conversations have no 👎 at all: one indexed look-up answers for them.
    disliked_ids = set(session.scalars(_DISLIKED, {"conversation_id": conversation.id}))
    if not disliked_ids:
        return False
    replies = session.scalars(
        select(Message)
        .where(Message.conversation_id == conversation.id, Message.role == "bot")
        .order_by(Message.id.desc())
        .limit(FEEDBACK_LOOKBACK)
    )
    disliked = [r for r in replies if r.status == "answered" and r.id in disliked_ids]
    for reply in disliked:
        if (
            decision.status == "answered"
            and decision.article
            and decision.article.id == reply.article_id
        ):
            return True
        asked = _question_before(session, reply)
        if asked and fuzz.token_set_ratio(asked.casefold(), text.casefold()) >= SIMILAR_QUESTION:
            return True
    return False


def _question_before(session: Session, reply: Message) -> str | None:
    return session.scalar(
        select(Message.text)
        .where(
            Message.conversation_id == reply.conversation_id,
            Message.role == "customer",
            Message.id < reply.id,
        )
        .order_by(Message.id.desc())
        .limit(1)
    )


def candidates_of(
    decision: Decision | None, details: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    if decision is not None and decision.match is not None:
        return [
            {"id": c.article_id, "title": c.title, "score": round(c.score, 4)}
            for c in decision.match.candidates
        ]
    return [
        {"id": c["id"], "title": c.get("title"), "score": c.get("score")}
        for c in (details or {}).get("candidates", [])
    ]


def _earlier_miss(session: Session, conversation: Conversation, before_id: int) -> Message | None:
    """For an explicit request: the last bot reply that did not understand the customer."""
    recent = session.scalars(
        select(Message)
        .where(
            Message.conversation_id == conversation.id,
            Message.role == "bot",
            Message.id < before_id,
        )
        .order_by(Message.id.desc())
        .limit(5)
    )
    for reply in recent:
        if reply.status == "clarify" or (reply.status == "handoff" and reply.reason in BOT_MISSES):
            return reply
        if reply.status == "answered":
            return None
    return None


def start_handoff(
    *,
    session: Session,
    conversation: Conversation,
    customer: Message,
    reason: str,
    decision: Decision | None,
    settings: Settings,
    now: datetime | None = None,
) -> tuple[Any, str]:
    """Opens the handoff; returns it and what to tell the customer about the wait."""
    now = now or utcnow()
    question: str | None = customer.text
    candidates = candidates_of(decision)
    if reason in EXPLICIT:
        question, miss = None, _earlier_miss(session, conversation, customer.id)
        if miss is not None:
            question = _question_before(session, miss)
            candidates = candidates_of(None, miss.details)
        elif customer.role == "customer":
            question = customer.text
    handoff = open_handoff(
        session=session,
        conversation=conversation,
        reason=reason,
        candidates=candidates,
        question=question,
        trigger_message_id=customer.id,
        now=now,
    )
    return handoff, wait_notice(
        session=session, handoff=handoff, conversation=conversation, settings=settings, now=now
    )


def wait_notice(
    *, session: Session, handoff: Any, conversation: Conversation, settings: Settings, now: datetime
) -> str:
    position = queue_position(session=session, handoff=handoff) or 1
    handoff.customer_notified_at = now
    return notices.queue_notice(
        position=position,
        minutes_per_customer=settings.handoff_minutes_per_customer,
        hours=BusinessHours.from_settings(settings.business_hours, settings.business_timezone),
        now=now,
        language=conversation.language,
    )


def open_from_decision(
    *,
    session: Session,
    conversation: Conversation,
    customer: Message,
    reply: Message,
    decision: Decision,
    settings: Settings,
    now: datetime | None = None,
) -> Decision:
    """After the policy chose a handoff: open it and tell the customer about the wait."""
    _, notice = start_handoff(
        session=session,
        conversation=conversation,
        customer=customer,
        reason=decision.reason or "low_confidence",
        decision=decision,
        settings=settings,
        now=now,
    )
    reply.text = f"{decision.reply}\n\n{notice}"
    return replace(decision, reply=reply.text)


def return_to_operator(
    *,
    session: Session,
    conversation: Conversation,
    customer: Message,
    settings: Settings,
    now: datetime | None = None,
) -> None:
    """With after_resolve_mode=same_operator, a message soon after a resolve goes back to them."""
    if conversation.status != "bot" or settings.after_resolve_mode != "same_operator":
        return
    now = now or utcnow()
    last = latest_handoff(session=session, conversation_id=conversation.id)
    if (
        last is None
        or last.status != "resolved"
        or not last.operator_name
        or last.resolved_at is None
        or now - last.resolved_at > timedelta(minutes=settings.after_resolve_minutes)
    ):
        return
    session.add(customer)
    session.flush()  # the customer's message becomes the trigger: it needs its id
    open_handoff(
        session=session,
        conversation=conversation,
        reason=last.reason,
        candidates=last.candidates or [],
        question=customer.text,
        trigger_message_id=customer.id,
        now=now,
        operator_name=last.operator_name,
        previous_handoff_id=last.id,
    )


def customer_wrote(
    *,
    session: Session,
    conversation: Conversation,
    customer: Message,
    settings: Settings,
    now: datetime | None = None,
) -> str | None:
    """A message while people have the conversation: to the operator; a notice only if useful."""
    now = now or utcnow()
    handoff = active_handoff(session=session, conversation_id=conversation.id)
    if handoff is None:  # handed off before the queue existed: queue it now
        handoff, notice = start_handoff(
            session=session,
            conversation=conversation,
            customer=customer,
            reason=conversation.handoff_reason or "human_request",
            decision=None,
            settings=settings,
            now=now,
        )
    else:
        notice = None
        told = handoff.customer_notified_at
        if handoff.status == "waiting" and (told is None or told < handoff.queued_at):
            notice = wait_notice(
                session=session,
                handoff=handoff,
                conversation=conversation,
                settings=settings,
                now=now,
            )
    events.publish(
        session=session,
        audience="operator",
        type="message",
        conversation_id=conversation.id,
        payload={**message_payload(customer), "handoff_id": handoff.id},
    )
    return notice
