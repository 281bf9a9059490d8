"""Idempotent chat requests: a request sent again with the same Idempotency-Key gets the
response the first one got, and the conversation gets no second turn.

What the client's key identifies is one attempt to say something; the widget sends a new key
per message and the same key when it retries that message. The semantics follow the IETF
draft "The Idempotency-Key HTTP Header Field": the same key with a different body is refused
(422), never answered as if it were the first request.
"""

import hashlib
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any

from fastapi import FastAPI
from sqlalchemy import delete
from sqlalchemy.orm import Session

from app.background import run_every
from app.conversations.models import ChatReceipt
from app.conversations.schemas import ChatRequest
from app.db import utcnow
from app.errors import InvalidInput

# How long a response can be replayed: a client retries within minutes, a day is generous.
RECEIPT_HOURS = 24
PURGE_SECONDS = 3600
# Printable ASCII, as in the header field's draft; long enough for any UUID or ULID.
KEY_PATTERN = r"^[\x21-\x7e]{1,255}$"


class IdempotencyKeyReused(InvalidInput):
    title = "Idempotency key reused"
    type_slug = "idempotency-key-reused"


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def receipt_key(chat_in: ChatRequest, idempotency_key: str) -> str:
    return _digest(chat_in.channel, chat_in.user.id, idempotency_key)


def fingerprint(chat_in: ChatRequest) -> str:
    return _digest(json.dumps(chat_in.model_dump(mode="json"), sort_keys=True))


def stored_response(*, session: Session, key: str, chat_in: ChatRequest) -> dict[str, Any] | None:
    """The response recorded under `key`, if this request was made before."""
    receipt = session.get(ChatReceipt, key)
    if receipt is None:
        return None
    if receipt.fingerprint != fingerprint(chat_in):
        raise IdempotencyKeyReused(
            "This Idempotency-Key was used for a different request; "
            "send a new key with each new message."
        )
    return receipt.response


def record(*, session: Session, key: str, chat_in: ChatRequest, response: dict[str, Any]) -> None:
    """Adds the receipt to the turn's transaction: both are stored, or neither."""
    session.add(
        ChatReceipt(
            key=key,
            fingerprint=fingerprint(chat_in),
            conversation_id=response["conversation_id"],
            response=response,
        )
    )


def purge(*, session: Session, now: datetime | None = None) -> int:
    """Forgets receipts past RECEIPT_HOURS; returns how many."""
    cutoff = (now or utcnow()) - timedelta(hours=RECEIPT_HOURS)
    result = session.execute(delete(ChatReceipt).where(ChatReceipt.created_at < cutoff))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def purge_once(app: FastAPI) -> int:
    with app.state.session_factory() as session:
        forgotten = purge(session=session)
        session.commit()
    return forgotten


@asynccontextmanager
async def receipt_purge(app: FastAPI) -> AsyncIterator[None]:
    """Every worker runs it hourly; a DELETE that finds nothing costs nothing."""
    async with run_every(PURGE_SECONDS, lambda: purge_once(app), what="chat receipt purge"):
        yield
