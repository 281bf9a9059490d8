"""The structured outcome log for outcomes the chat service does not log itself.

Bot decisions are logged by `app.conversations.service._log_outcome`. A person resolving a
handoff, and a customer pressing "talk to a person" (no bot decision), are logged here, from a
session listener, so the same JSON line shape covers every outcome:
`{"event": "outcome", "conversation", "channel", "outcome", "reason", "confidence", ...}`.
"""

import json
import logging

from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from app.conversations.models import Conversation
from app.handoff.models import Handoff

log = logging.getLogger("answerdesk.outcomes")


def _channel(session: Session, conversation_id: str) -> str | None:
    return session.connection().scalar(
        select(Conversation.channel).where(Conversation.id == conversation_id)
    )


def _line(session: Session, handoff: Handoff, outcome: str, **extra: object) -> None:
    record = {
        "event": "outcome",
        "conversation": handoff.conversation_id,
        "channel": _channel(session, handoff.conversation_id),
        "outcome": outcome,
        "reason": handoff.reason,
        "confidence": None,
        "handoff": handoff.id,
        **extra,
    }
    log.info(json.dumps(record, ensure_ascii=False, default=str))


def log_handoff_outcomes(session: Session) -> None:
    """Called after each flush, while the flushed changes are still visible as history."""
    for obj in session.new:
        if isinstance(obj, Handoff) and obj.reason == "customer_button":
            _line(session, obj, "handoff")
    for obj in session.dirty:
        if not isinstance(obj, Handoff):
            continue
        added = inspect(obj).attrs.status.history.added
        if "resolved" in added:
            _line(
                session,
                obj,
                "resolved_by_person",
                operator=obj.operator_name,
                resolution_article=obj.resolution_article_id,
                seconds=round((obj.resolved_at - obj.created_at).total_seconds(), 3)
                if obj.resolved_at and obj.created_at
                else None,
            )
