"""The customer's side of a handoff: the "talk to a person" button and what their widget sees."""

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from app.conversations.models import Conversation, Message
from app.conversations.service import add_message, get_conversation
from app.db import utcnow
from app.errors import Conflict
from app.handoff import events, flow, notices
from app.handoff.models import Handoff
from app.handoff.service import active_handoff, latest_handoff, message_payload, queue_position
from app.matching.engine import match
from app.matching.index import SearchIndex
from app.settings import Settings

BUTTON_NOTE = "The customer pressed “talk to a person”."


def request_person(
    *,
    session: Session,
    conversation_id: str,
    text: str | None,
    index: SearchIndex,
    settings: Settings,
    now: datetime,
) -> tuple[Handoff, bool, str]:
    """Returns the handoff, whether it was created, and what the customer is told."""
    conversation = get_conversation(session=session, conversation_id=conversation_id)
    if conversation.status == "closed":
        raise Conflict("This conversation is closed.", conversation_id=conversation_id)
    existing = active_handoff(session=session, conversation_id=conversation_id)
    if existing is not None:  # idempotent: a second press changes nothing
        if text:
            customer = add_message(
                session=session, conversation=conversation, role="customer", text=text
            )
            flow.customer_wrote(
                session=session,
                conversation=conversation,
                customer=customer,
                settings=settings,
                now=now,
            )
        return existing, False, ""
    if text:
        trigger = add_message(
            session=session, conversation=conversation, role="customer", text=text
        )
    else:
        trigger = add_message(
            session=session, conversation=conversation, role="system", text=BUTTON_NOTE
        )
    handoff, notice = flow.start_handoff(
        session=session,
        conversation=conversation,
        customer=trigger,
        reason="customer_button",
        decision=None,
        settings=settings,
        now=now,
    )
    if not handoff.candidates and text:
        handoff.candidates = [
            {"id": c.article_id, "title": c.title, "score": round(c.score, 4)}
            for c in match(index, text, language=conversation.language).candidates
        ]
    reply = f"{notices.text('customer_button', conversation.language)}\n\n{notice}"
    add_message(
        session=session,
        conversation=conversation,
        role="bot",
        text=reply,
        status="handoff",
        reason="customer_button",
        language=conversation.language,
    )
    return handoff, True, reply


def customer_status(*, session: Session, conversation: Conversation) -> dict[str, Any]:
    """What the widget shows: who has the conversation and the place in the queue."""
    handoff = active_handoff(session=session, conversation_id=conversation.id)
    if handoff is None and conversation.status != "handoff":
        handoff = latest_handoff(session=session, conversation_id=conversation.id)
    return {
        "status": conversation.status,
        "handoff_status": handoff.status if handoff else None,
        "queue_position": queue_position(session=session, handoff=handoff) if handoff else None,
        "operator": handoff.operator_name if handoff and handoff.status == "assigned" else None,
    }


class CustomerStream:
    """One customer's SSE: new messages of the conversation, and the status when it changes.

    Message ids are global, so a gap in one conversation's ids is normal; instead of tracking
    gaps it re-reads the last few seconds of the conversation and skips what it already sent,
    which also catches a message whose transaction committed after a later one.
    """

    def __init__(self, session_factory: Any, conversation_id: str, after: int) -> None:
        self._session_factory = session_factory
        self._conversation_id = conversation_id
        self._after = after
        self._last = after
        self._sent: dict[int, datetime] = {}
        self._status: dict[str, Any] | None = None

    def poll(self) -> list[str]:
        window = utcnow() - timedelta(seconds=events.GAP_PATIENCE_SECONDS)
        with self._session_factory() as session:
            rows = session.scalars(
                select(Message)
                .where(
                    Message.conversation_id == self._conversation_id,
                    or_(Message.id > self._last, Message.created_at > window),
                )
                .order_by(Message.id)
                .limit(events.BATCH)
            )
            frames = []
            for row in rows:
                if row.id <= self._after or row.id in self._sent:
                    continue
                self._sent[row.id] = row.created_at
                self._last = max(self._last, row.id)
                frames.append(events.sse_frame("message", message_payload(row), row.id))
            self._sent = {i: at for i, at in self._sent.items() if at > window or i == self._last}
            conversation = session.get(Conversation, self._conversation_id)
            if conversation is not None:
                status = customer_status(session=session, conversation=conversation)
                if status != self._status:
                    self._status = status
                    frames.append(events.sse_frame("status", status))
        return frames


class OperatorStream:
    """One operator console's SSE: the operator audience of the event log."""

    def __init__(self, session_factory: Any, after: int) -> None:
        self._session_factory = session_factory
        self._cursor = events.Cursor(last=after)

    def poll(self) -> list[str]:
        with self._session_factory() as session:
            rows = events.read_events(session=session, audience="operator", cursor=self._cursor)
            return [events.sse_frame(r.type, {**r.payload, "event_id": r.id}, r.id) for r in rows]
