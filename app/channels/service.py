"""From a messenger event to the chat engine and back out through the outbox.

Each event is its own transaction, which starts by inserting (channel, external_id) into
inbound_events: a redelivered event hits the unique constraint and is skipped, and an event
whose processing fails leaves no trace, so the platform's retry processes it again.
"""

import json
import logging
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from app.channels.base import ChannelAdapter, Choice, Inbound, resolve_choice
from app.channels.models import InboundEvent
from app.channels.outbox import enqueue
from app.conversations.models import Conversation, Message
from app.conversations.policy import Thresholds
from app.conversations.schemas import MAX_TEXT_CHARS, ChatRequest, ChatUser
from app.conversations.service import handle_message
from app.db import utcnow
from app.settings import Settings

__all__ = ["find_open_conversation", "language_hint", "process_events"]

log = logging.getLogger("answerdesk.channels")

# A conversation in one of these states is over; the customer's next message starts another.
ENDED_STATUSES = ("closed", "resolved")
CYRILLIC_LANGUAGES = {"ru", "uk", "be", "kk", "bg", "sr", "mk", "ky", "tg", "mn"}


def process_events(*, state: Any, adapter: ChannelAdapter, events: list[Inbound]) -> int:
    """Runs each event through the chat engine; returns how many were new."""
    session_factory: sessionmaker[Session] = state.session_factory
    processed = 0
    for inbound in events:
        with session_factory() as session:
            if not _record(session, adapter.name, inbound.external_id):
                continue  # seen before: the platform redelivered it
            _process(session=session, state=state, adapter=adapter, inbound=inbound)
            session.commit()
            processed += 1
    return processed


def _record(session: Session, channel: str, external_id: str) -> bool:
    session.add(InboundEvent(channel=channel, external_id=external_id[:200]))
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        return False
    return True


def find_open_conversation(
    *, session: Session, channel: str, user_id: str, idle_minutes: float, now: datetime
) -> Conversation | None:
    """The customer's conversation to continue: the newest one not ended, unless the bot had
    it and it has been quiet for `idle_minutes` (a conversation with people never lapses)."""
    conversation = session.scalars(
        select(Conversation)
        .where(
            Conversation.channel == channel,
            Conversation.user_id == user_id,
            Conversation.status.not_in(ENDED_STATUSES),
        )
        .order_by(Conversation.created_at.desc())
        .limit(1)
    ).first()
    if conversation is None or conversation.status != "bot":
        return conversation
    last = session.scalar(
        select(func.max(Message.created_at)).where(Message.conversation_id == conversation.id)
    )
    last = last or conversation.updated_at or conversation.created_at
    if last.tzinfo is None:
        last = last.replace(tzinfo=now.tzinfo)
    return conversation if now - last < timedelta(minutes=idle_minutes) else None


def language_hint(language: str | None, text: str) -> str | None:
    """The platform's interface language, when it agrees with the script of the text: a
    Russian interface with an English question must not force Russian answers."""
    if not language or not (language.isascii() and language.isalpha() and len(language) <= 3):
        return None
    lowered = text.lower()
    cyrillic = any("\u0400" <= ch <= "\u04ff" for ch in lowered)
    latin = any("a" <= ch <= "z" for ch in lowered)
    if language in CYRILLIC_LANGUAGES:
        return language if cyrillic else None
    return language if latin and not cyrillic else None


def _process(*, session: Session, state: Any, adapter: ChannelAdapter, inbound: Inbound) -> None:
    settings: Settings = state.settings
    index = state.kb_index.current()
    conversation = find_open_conversation(
        session=session,
        channel=adapter.name,
        user_id=inbound.user_id,
        idle_minutes=settings.channel_idle_minutes,
        now=utcnow(),
    )
    text = inbound.text.strip()[: min(settings.max_message_chars, MAX_TEXT_CHARS)]
    offered = list(conversation.pending_choices or []) if conversation else []
    choice = resolve_choice(inbound.choice_token, [*offered, *(doc.id for doc in index.docs)])
    try:
        chat_in = ChatRequest(
            conversation_id=conversation.id if conversation else None,
            channel=adapter.name,
            user=ChatUser(
                id=inbound.user_id[:200],
                name=inbound.user_name[:200] if inbound.user_name else None,
            ),
            text=text,
            language=language_hint(inbound.language, text),
            choice=choice,
            metadata={**inbound.metadata, "reply_to": inbound.reply_to},
        )
    except ValidationError as exc:  # an empty text, say: nothing the engine could answer
        log.info(json.dumps({"event": "inbound_skipped", "channel": adapter.name, "why": str(exc)}))
        return
    conversation, reply, decision = handle_message(
        session=session,
        index=index,
        intents=state.intents,
        thresholds=Thresholds(answer=settings.answer_threshold, handoff=settings.handoff_threshold),
        default_language=settings.default_language,
        chat_in=chat_in,
        settings=settings,
    )
    payloads = adapter.answer_tap(inbound)
    if decision is not None and reply.text.strip():
        choices = (
            [Choice(s.article_id, s.title) for s in decision.suggestions]
            if decision.status == "clarify"
            else []
        )
        payloads += adapter.render(recipient=inbound.reply_to, text=reply.text, choices=choices)
    enqueue(
        session=session,
        channel=adapter.name,
        recipient=inbound.reply_to,
        payloads=payloads,
        conversation_id=conversation.id,
    )
