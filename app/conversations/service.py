"""Storing conversations and running each customer message through the policy."""

import json
import logging
import os
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, make_transient_to_detached

from app.analytics.rollup import note_changed
from app.bulk_insert import insert_rows
from app.conversations.models import Conversation, Feedback, Message
from app.conversations.policy import Decision, Thresholds, decide
from app.conversations.schemas import ChatRequest
from app.db import utcnow
from app.errors import Conflict, NotFound
from app.handoff import flow as handoff_flow
from app.matching.index import SearchIndex
from app.matching.intents import IntentMatcher
from app.settings import Settings, get_settings

log = logging.getLogger("answerdesk.outcomes")


class ConversationNotFound(NotFound):
    def __init__(self, conversation_id: str) -> None:
        super().__init__(
            f"Conversation {conversation_id!r} does not exist.", conversation_id=conversation_id
        )


class MessageNotFound(NotFound):
    def __init__(self, message_id: int) -> None:
        super().__init__(f"Message {message_id} does not exist.", message_id=message_id)


def get_conversation(*, session: Session, conversation_id: str) -> Conversation:
    conversation = session.get(Conversation, conversation_id)
    if conversation is None:
        raise ConversationNotFound(conversation_id)
    return conversation


# Built once (a new statement's cache key is computed at every call).
_CONVERSATIONS_AND_DISLIKES = select(Conversation, handoff_flow.DISLIKED_ANSWER).where(
    Conversation.id.in_(bindparam("conversation_ids", expanding=True))
)

# What load_conversations() read: each conversation, and whether its customer gave a 👎 in it.
Loaded = Mapping[str, tuple[Conversation, bool]]


def load_conversations(*, session: Session, conversation_ids: Iterable[str]) -> Loaded:
    """The conversations asked for that exist, in one query, each with its 👎 flag (read with
    the conversation: escalate() then need not ask again)."""
    ids = list(conversation_ids)
    if not ids:
        return {}
    rows = session.execute(_CONVERSATIONS_AND_DISLIKES, {"conversation_ids": ids})
    return {conversation.id: (conversation, bool(disliked)) for conversation, disliked in rows}


def open_conversation(
    *, session: Session, chat_in: ChatRequest, flush: bool = True, loaded: Loaded | None = None
) -> tuple[Conversation, bool]:
    """The request's conversation, and whether its customer has given a 👎 in it; from
    `loaded` when the caller read it already. A new one is written at once unless `flush` is
    False."""
    if chat_in.conversation_id is None:
        conversation = Conversation(
            id=uuid.uuid4().hex,
            channel=chat_in.channel,
            user_id=chat_in.user.id,
            user_name=chat_in.user.name,
            language=chat_in.language,
            meta=chat_in.metadata or {},
            # every column set here (the defaults included): the policy reads them before the
            # INSERT, and insert_conversations() leaves none to load afterwards
            status="bot",
            handoff_reason=None,
            pending_choices=[],
            miss_streak=0,
        )
        session.add(conversation)
        if flush:
            insert_conversations(session=session, conversations=[conversation])
        return conversation, False
    if loaded is None:
        loaded = load_conversations(session=session, conversation_ids=[chat_in.conversation_id])
    found = loaded.get(chat_in.conversation_id)
    if found is None:
        raise ConversationNotFound(chat_in.conversation_id)
    conversation, disliked = found
    if conversation.user_id != chat_in.user.id or conversation.channel != chat_in.channel:
        raise Conflict("This conversation belongs to another customer or channel.")
    if chat_in.metadata:
        conversation.meta = {**(conversation.meta or {}), **chat_in.metadata}
    return conversation, disliked


def add_message(
    *,
    session: Session,
    conversation: Conversation,
    role: str,
    text: str,
    flush: bool = True,
    **fields: Any,
) -> Message:
    """Adds a message; with `flush` (the default) it is written now and has its id."""
    message = Message(conversation_id=conversation.id, role=role, text=text, **fields)
    session.add(message)
    if flush:
        session.flush()
    return message


_CONVERSATION_COLUMNS = [c.key for c in Conversation.__table__.columns]


def insert_conversations(*, session: Session, conversations: Iterable[Conversation]) -> None:
    """Writes those of these conversations that are new with one Core INSERT; they stay in
    the session as if read from it, so a later change to them is an UPDATE at the flush.

    For the chat turn, where the ORM's unit of work for them cost more than the SQL it ran:
    without it a turn takes about 0.05 ms less CPU (in batches of 5 turns, about one new
    conversation each, on PostgreSQL). Queuing them for the roll-ups is the caller's
    (note_changed), as for insert_messages."""
    pending = session.new  # a new set at every access
    new = [c for c in conversations if c in pending]
    if not new:
        return
    now = utcnow()
    for conversation in new:
        session.expunge(conversation)
        conversation.created_at = conversation.created_at or now
        conversation.updated_at = conversation.updated_at or now
    insert_rows(
        session.connection(),
        Conversation,
        [{key: getattr(c, key) for key in _CONVERSATION_COLUMNS} for c in new],
    )
    for conversation in new:
        make_transient_to_detached(conversation)  # persistent with what it holds, once added
        session.add(conversation)


_MESSAGE_COLUMNS = [c.key for c in Message.__table__.columns if c.key != "id"]


def insert_messages(*, session: Session, messages: list[Message]) -> None:
    """Writes new messages with one Core INSERT ... RETURNING and gives them their ids.

    For the chat turn, where the ORM's unit of work cost more than the SQL it ran. The objects
    stay outside the session: later changes to them are not saved."""
    if not messages:
        return
    now = utcnow()
    for message in messages:  # what the columns' defaults would give
        message.created_at = message.created_at or now
        message.details = {} if message.details is None else message.details
    rows = [{key: getattr(m, key) for key in _MESSAGE_COLUMNS} for m in messages]
    ids = insert_rows(session.connection(), Message, rows, returning=Message.id)
    for message, message_id in zip(messages, ids, strict=True):
        message.id = message_id
    note_changed(session, {message.conversation_id for message in messages})


def explain(decision: Decision) -> dict[str, Any]:
    """What the decision rested on; stored with the reply and shown as `debug` on request."""
    kb = decision.match
    # The worker and the KB version it answered from: with several workers or replicas,
    # which one said what, and from which knowledge.
    details: dict[str, Any] = {
        "reason": decision.reason,
        "intent": decision.intent,
        "worker": os.getpid(),
    }
    if kb is not None:
        details.update(
            kb_version=kb.kb_version,
            normalized=kb.normalized,
            detected_language=kb.language,
            conversions=[list(pair) for pair in kb.conversions],
            features=kb.features,
            candidates=[
                {
                    "id": c.article_id,
                    "title": c.title,
                    "score": c.score,
                    "phrasing": c.phrasing,
                    "terms": list(c.terms),
                }
                for c in kb.candidates
            ],
        )
    if decision.intent_match is not None and decision.intent_match.top is not None:
        details["intent_candidate"] = {
            "intent": decision.intent_match.top.article_id.split(":", 1)[0],
            "confidence": decision.intent_match.confidence,
        }
    return details


@dataclass(frozen=True, slots=True)
class PreparedTurn:
    """A customer message read and decided, nothing written yet (see prepare_turn)."""

    chat_in: ChatRequest
    conversation: Conversation
    disliked: bool
    decision: Decision | None


def prepare_turn(
    *,
    session: Session,
    index: SearchIndex,
    intents: IntentMatcher,
    thresholds: Thresholds,
    default_language: str,
    chat_in: ChatRequest,
    loaded: Loaded | None = None,
) -> PreparedTurn:
    """The turn's reads and its decision; store_turn() then writes it.

    Split so that several turns can be decided before any of them writes: on SQLite the first
    write takes the one write lock of the whole database until the commit, and matching is most
    of a message's time. A new conversation is added to the session, not yet written; `loaded`:
    the conversation, when the caller read it with others'."""
    conversation, disliked = open_conversation(
        session=session, chat_in=chat_in, flush=False, loaded=loaded
    )
    # While a person has the conversation the bot stays silent.
    decision = (
        None
        if conversation.status == "handoff"
        else decide(
            index=index,
            intents=intents,
            text=chat_in.text,
            thresholds=thresholds,
            language=chat_in.language or conversation.language,
            default_language=default_language,
            pending_choices=list(conversation.pending_choices or []),
            choice=chat_in.choice,
        )
    )
    if decision is not None and conversation in session.new:  # no UPDATE right after the INSERT
        conversation.language = conversation.language or decision.language
    return PreparedTurn(chat_in, conversation, disliked, decision)


def handle_message(
    *,
    session: Session,
    index: SearchIndex,
    intents: IntentMatcher,
    thresholds: Thresholds,
    default_language: str,
    chat_in: ChatRequest,
    settings: Settings | None = None,
    now: datetime | None = None,
) -> tuple[Conversation, Message, Decision | None]:
    """Stores the customer's message and the bot's reply; returns the reply and its decision."""
    prepared = prepare_turn(
        session=session,
        index=index,
        intents=intents,
        thresholds=thresholds,
        default_language=default_language,
        chat_in=chat_in,
    )
    return store_turn(
        session=session,
        prepared=prepared,
        default_language=default_language,
        settings=settings,
        now=now,
    )


def store_turn(
    *,
    session: Session,
    prepared: PreparedTurn,
    default_language: str,
    settings: Settings | None = None,
    now: datetime | None = None,
    unwritten: list[Message] | None = None,
) -> tuple[Conversation, Message, Decision | None]:
    """Writes a prepared turn: the customer's message, the bot's reply, the conversation's new
    state, and a handoff if the decision or the customer asks for one. With `unwritten`, the
    two messages of a plain answer are added to it instead, for the caller to write with other
    turns' (insert_messages): the reply then has no id yet.

    While a person has the conversation the bot stays silent: the decision is None, or a
    "handoff" decision carrying a notice (queue position, business hours) worth telling.
    """
    settings = settings or get_settings()
    now = now or utcnow()
    chat_in, conversation, decision = prepared.chat_in, prepared.conversation, prepared.decision
    # the conversation's row before its messages' (foreign key)
    insert_conversations(session=session, conversations=[conversation])
    # Written together with the reply below, unless a handoff path needs its id first.
    customer = Message(
        conversation_id=conversation.id,
        role="customer",
        text=chat_in.text,
        language=chat_in.language,
    )
    handoff_flow.return_to_operator(
        session=session, conversation=conversation, customer=customer, settings=settings, now=now
    )
    if conversation.status == "handoff" or decision is None:
        session.add(customer)
        session.flush()  # the operator's event carries the customer's message id
        notice = handoff_flow.customer_wrote(
            session=session,
            conversation=conversation,
            customer=customer,
            settings=settings,
            now=now,
        )
        if notice is None:
            return conversation, customer, None
        language = conversation.language or default_language
        reply = add_message(
            session=session,
            conversation=conversation,
            role="bot",
            text=notice,
            status="handoff",
            reason="queue_notice",
            language=language,
        )
        told = Decision("handoff", notice, 0.0, language, reason="queue_notice")
        return conversation, reply, told
    customer.language = decision.language  # escalate() keeps the language
    with session.no_autoflush:  # it reads earlier replies and feedback only
        decision = handoff_flow.escalate(
            session=session,
            conversation=conversation,
            text=chat_in.text,
            decision=decision,
            disliked_before=prepared.disliked,
        )
    _apply(conversation, decision)
    reply = Message(
        conversation_id=conversation.id,
        role="bot",
        text=decision.reply,
        status=decision.status,
        article_id=decision.article.id if decision.article else None,
        intent=decision.intent,
        reason=decision.reason,
        confidence=decision.confidence,
        language=decision.language,
        details=explain(decision),
    )
    if decision.status != "handoff":
        # Most turns: the two messages in one INSERT; the conversation's new state (if any)
        # is flushed at the commit.
        if unwritten is None:
            insert_messages(session=session, messages=[customer, reply])
        else:
            unwritten += [customer, reply]
    else:  # same transaction: the queue and the event log, which change the reply's text
        session.add_all([customer, reply])
        session.flush()
        decision = handoff_flow.open_from_decision(
            session=session,
            conversation=conversation,
            customer=customer,
            reply=reply,
            decision=decision,
            settings=settings,
            now=now,
        )
    _log_outcome(conversation, decision)
    return conversation, reply, decision


def _apply(conversation: Conversation, decision: Decision) -> None:
    state: dict[str, Any] = {
        "language": conversation.language or decision.language,
        "pending_choices": [s.article_id for s in decision.suggestions]
        if decision.status == "clarify"
        else [],
    }
    if decision.status == "handoff":
        state.update(status="handoff", handoff_reason=decision.reason)
    # Only what differs: assigning an equal value still makes the commit flush the conversation
    # (a unit of work that writes nothing, a tenth of a millisecond), most turns for nothing.
    for name, value in state.items():
        if getattr(conversation, name) != value:
            setattr(conversation, name, value)


def _log_outcome(conversation: Conversation, decision: Decision) -> None:
    log.info(
        json.dumps(
            {
                "event": "outcome",
                "conversation": conversation.id,
                "channel": conversation.channel,
                "outcome": decision.status,
                "reason": decision.reason,
                "article": decision.article.id if decision.article else None,
                "confidence": round(decision.confidence, 4),
            }
        )
    )


def list_messages(
    *, session: Session, conversation_id: str, after: int = 0
) -> tuple[Conversation, list[Message]]:
    conversation = get_conversation(session=session, conversation_id=conversation_id)
    rows = session.scalars(
        select(Message)
        .where(Message.conversation_id == conversation_id, Message.id > after)
        .order_by(Message.id)
    )
    return conversation, list(rows)


def add_feedback(*, session: Session, message_id: int, value: int, comment: str | None) -> Feedback:
    message = session.get(Message, message_id)
    if message is None or message.role != "bot":
        raise MessageNotFound(message_id)
    feedback = Feedback(
        message_id=message.id, conversation_id=message.conversation_id, value=value, comment=comment
    )
    session.add(feedback)
    session.flush()
    return feedback
