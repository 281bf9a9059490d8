"""Stored conversations with chosen timestamps, for the formulas that depend on time.

The chat API stamps every message with the real clock, so "no further question within 24 h",
"no new contact within 7 days" and per-day series cannot be built through it in a test. These
helpers write the same rows the chat and handoff services write (conversations, messages with
status/reason/article/candidates, feedback, handoffs) through the ORM, in one transaction per
call; the analytics code then sees them exactly as it sees live traffic (the session listener
queues them for the roll-ups).
"""

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from app.conversations.models import Conversation, Feedback, Message
from app.handoff.models import Handoff


@dataclass
class Story:
    """One conversation told turn by turn."""

    client: TestClient
    at: datetime
    user: str
    channel: str = "web"
    language: str = "ru"
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    last_customer_id: int | None = None

    def __post_init__(self) -> None:
        with self._session() as session:
            session.add(
                Conversation(
                    id=self.id,
                    channel=self.channel,
                    user_id=self.user,
                    language=self.language,
                    created_at=self.at,
                    updated_at=self.at,
                )
            )
            session.commit()

    def _session(self) -> Any:
        return self.client.app.state.session_factory()  # type: ignore[attr-defined]

    def _message(self, **fields: Any) -> int:
        with self._session() as session:
            message = Message(conversation_id=self.id, language=self.language, **fields)
            session.add(message)
            session.commit()
            return message.id

    def ask(self, text: str, after: timedelta = timedelta(0)) -> "Story":
        self.last_customer_id = self._message(
            role="customer", text=text, created_at=self.at + after
        )
        return self

    def bot(
        self,
        status: str,
        after: timedelta = timedelta(seconds=1),
        *,
        article: str | None = None,
        reason: str | None = None,
        choices: tuple[str, ...] = (),
    ) -> int:
        return self._message(
            role="bot",
            text=f"{status} reply",
            status=status,
            article_id=article,
            reason=reason,
            confidence=0.5,
            details={"candidates": [{"id": c, "title": c, "score": 0.4} for c in choices]},
            created_at=self.at + after,
        )

    def vote(self, message_id: int, value: int, after: timedelta = timedelta(seconds=5)) -> None:
        with self._session() as session:
            session.add(
                Feedback(
                    message_id=message_id,
                    conversation_id=self.id,
                    value=value,
                    created_at=self.at + after,
                )
            )
            session.commit()

    def hand_off(
        self,
        reason: str,
        after: timedelta = timedelta(seconds=1),
        *,
        first_response: timedelta | None = None,
        resolved: timedelta | None = None,
        rating: int | None = None,
        question: str | None = None,
    ) -> int:
        created = self.at + after
        with self._session() as session:
            handoff = Handoff(
                conversation_id=self.id,
                reason=reason,
                status="resolved" if resolved else ("assigned" if first_response else "waiting"),
                operator_name="anna" if first_response or resolved else None,
                created_at=created,
                queued_at=created,
                claimed_at=created if first_response else None,
                first_response_at=created + first_response if first_response else None,
                resolved_at=created + resolved if resolved else None,
                rating=rating,
                candidates=[],
                question=question,
                trigger_message_id=self.last_customer_id,
            )
            session.add(handoff)
            session.commit()
            return handoff.id
