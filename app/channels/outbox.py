"""The durable outbox: every reply to a messenger is a row here until the platform has it.

Rows are written in the same transaction as the conversation's messages, so a reply is never
lost and never sent for a turn that rolled back. A sender in every worker claims due rows with
a conditional UPDATE (a lease), posts them with httpx and records the outcome. Per recipient
only the oldest pending row is due, so a customer's messages arrive in order even while the
platform is failing. Delivery is at least once: a worker that dies between the platform's
answer and its own UPDATE leaves a lease that expires, and the row is sent again.
"""

import asyncio
import json
import logging
import os
import random
import socket
import threading
import uuid
import weakref
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager, suppress
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import event, or_, select, update
from sqlalchemy.orm import Session, aliased, sessionmaker

from app.channels.base import ChannelAdapter, SendResult
from app.channels.models import OutboxMessage
from app.channels.registry import ADAPTERS
from app.db import utcnow
from app.settings import Settings

__all__ = ["OutboxSender", "enqueue", "outbox_background"]

log = logging.getLogger("answerdesk.outbox")

MAX_ROUNDS = 100  # claim-and-send rounds per deliver_due call (a round sends each head row)
_senders: "weakref.WeakSet[OutboxSender]" = weakref.WeakSet()


def enqueue(
    *,
    session: Session,
    channel: str,
    recipient: str,
    payloads: Iterable[dict[str, Any]],
    conversation_id: str | None = None,
) -> list[OutboxMessage]:
    """Adds payloads to the outbox in the caller's transaction; senders wake on its commit."""
    now = utcnow()
    rows = [
        OutboxMessage(
            channel=channel,
            recipient=recipient,
            payload=payload,
            status="pending",
            attempts=0,
            next_attempt_at=now,
            conversation_id=conversation_id,
            created_at=now,
        )
        for payload in payloads
    ]
    session.add_all(rows)
    session.flush()
    if rows and not session.info.get("outbox_wake"):
        session.info["outbox_wake"] = True
        event.listen(session, "after_commit", _wake_senders, once=True)
    return rows


def _wake_senders(session: Session) -> None:
    session.info.pop("outbox_wake", None)
    for sender in list(_senders):
        sender.wake()


def _as_utc(moment: datetime | None) -> datetime:
    if moment is None:
        return utcnow()
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class OutboxSender:
    """Delivers due outbox rows. `deliver_due` is synchronous and safe to run in any number of
    threads and processes at once; `run` is the loop a worker keeps going in the background."""

    def __init__(
        self,
        *,
        session_factory: sessionmaker[Session],
        settings: Settings,
        adapters: dict[str, ChannelAdapter] | None = None,
        client: httpx.Client | None = None,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self._session_factory = session_factory
        self._settings = settings
        self._adapters = adapters if adapters is not None else ADAPTERS
        self._client = client or httpx.Client(timeout=settings.outbox_http_timeout_seconds)
        self._jitter = jitter
        self.owner = f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._stopping = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake_event: asyncio.Event | None = None
        _senders.add(self)

    # -- one pass ---------------------------------------------------------------------------

    def deliver_due(self, *, now: datetime | None = None, limit: int = 100) -> int:
        """Sends every row that is due at `now` (default: the current time), oldest first per
        recipient; returns how many the platforms accepted."""
        fixed = now is not None
        sent = 0
        for _ in range(MAX_ROUNDS):
            moment = _as_utc(now) if fixed else utcnow()
            rows = self._claim(moment, limit)
            if not rows:
                break
            for position, row in enumerate(rows):
                if self._stopping.is_set():
                    self._release([r.id for r in rows[position:]])
                    return sent
                sent += self._deliver(row, moment)
        return sent

    def _claim(self, moment: datetime, limit: int) -> list[OutboxMessage]:
        earlier = aliased(OutboxMessage)
        blocked = (
            select(earlier.id)
            .where(
                earlier.channel == OutboxMessage.channel,
                earlier.recipient == OutboxMessage.recipient,
                earlier.status == "pending",
                earlier.id < OutboxMessage.id,
            )
            .exists()
        )
        free = or_(OutboxMessage.lease_until.is_(None), OutboxMessage.lease_until <= moment)
        with self._session_factory() as session:
            candidates = session.scalars(
                select(OutboxMessage.id)
                .where(
                    OutboxMessage.status == "pending",
                    OutboxMessage.next_attempt_at <= moment,
                    free,
                    ~blocked,
                )
                .order_by(OutboxMessage.id)
                .limit(limit)
            ).all()
            claimed: list[int] = []
            lease_until = moment + timedelta(seconds=self._settings.outbox_lease_seconds)
            for row_id in candidates:
                # The row count decides between workers racing for the same row.
                result = session.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.id == row_id, OutboxMessage.status == "pending", free)
                    .values(
                        lease_owner=self.owner,
                        lease_until=lease_until,
                        attempts=OutboxMessage.attempts + 1,
                    )
                    .execution_options(synchronize_session=False)
                )
                if result.rowcount == 1:  # type: ignore[attr-defined]
                    claimed.append(row_id)
            session.commit()
            if not claimed:
                return []
            return list(
                session.scalars(
                    select(OutboxMessage)
                    .where(OutboxMessage.id.in_(claimed))
                    .order_by(OutboxMessage.id)
                )
            )

    def _release(self, row_ids: list[int]) -> None:
        """Gives back rows claimed but not tried (the worker is stopping)."""
        with self._session_factory() as session:
            session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(row_ids), OutboxMessage.lease_owner == self.owner)
                .values(lease_owner=None, lease_until=None, attempts=OutboxMessage.attempts - 1)
                .execution_options(synchronize_session=False)
            )
            session.commit()

    def _deliver(self, row: OutboxMessage, moment: datetime) -> int:
        adapter = self._adapters.get(row.channel)
        result = self._attempt(adapter, row)
        error = result.error
        for secret in adapter.secrets(self._settings) if adapter else []:
            if secret and error:
                error = error.replace(secret, "***")
        values: dict[str, Any] = {"lease_owner": None, "lease_until": None, "last_error": error}
        age = (moment - row.created_at).total_seconds()
        if result.outcome == "sent":
            values.update(status="sent", sent_at=moment, last_error=None)
        elif result.outcome == "retry" and age < self._settings.outbox_max_age_seconds:
            values["next_attempt_at"] = moment + timedelta(
                seconds=self.retry_delay(row.attempts, result.retry_after)
            )
        else:
            values["status"] = "failed"
            if result.outcome == "retry":
                values["last_error"] = f"gave up after {row.attempts} attempts: {error}"
        with self._session_factory() as session:
            session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == row.id, OutboxMessage.lease_owner == self.owner)
                .values(**values)
                .execution_options(synchronize_session=False)
            )
            session.commit()
        if result.outcome != "sent":
            log.warning(
                json.dumps(
                    {
                        "event": "outbox_" + values.get("status", "retry"),
                        "outbox_id": row.id,
                        "channel": row.channel,
                        "attempts": row.attempts,
                        "error": values["last_error"],
                    }
                )
            )
        return 1 if result.outcome == "sent" else 0

    def _attempt(self, adapter: ChannelAdapter | None, row: OutboxMessage) -> SendResult:
        if adapter is None:
            return SendResult("failed", f"no adapter for channel {row.channel!r}")
        if not adapter.enabled(self._settings):
            return SendResult("retry", f"the {row.channel} channel is not configured")
        try:
            outbound = adapter.request(row.payload, self._settings)
        except (KeyError, TypeError, ValueError) as exc:
            return SendResult("failed", f"unusable payload: {type(exc).__name__}")
        try:
            response = self._client.request(
                outbound.method,
                outbound.url,
                json=outbound.json,
                data=outbound.data,
                headers=outbound.headers,
            )
        except httpx.HTTPError as exc:  # timeouts, refused or dropped connections
            return SendResult("retry", f"{type(exc).__name__}: {exc}")
        return adapter.classify(response)

    def retry_delay(self, attempts: int, retry_after: float | None) -> float:
        """Retry-After when the platform gave one; else exponential backoff with jitter
        (half fixed, half random, so workers that failed together spread out)."""
        if retry_after is not None:
            return max(retry_after, 1.0)
        settings = self._settings
        backoff = min(
            settings.outbox_retry_max_seconds,
            settings.outbox_retry_base_seconds * 2 ** max(attempts - 1, 0),
        )
        return backoff / 2 + self._jitter() * backoff / 2

    # -- the background loop ---------------------------------------------------------------

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake_event = asyncio.Event()
        while not self._stopping.is_set():
            self._wake_event.clear()
            try:
                await asyncio.to_thread(self.deliver_due)
            except Exception:  # the database is away, say; try again next round
                log.exception("outbox round failed")
            with suppress(TimeoutError):
                await asyncio.wait_for(
                    self._wake_event.wait(), timeout=self._settings.outbox_poll_seconds
                )

    def wake(self) -> None:
        """Starts the next round now (thread-safe); new rows need not wait for the poll."""
        loop, wake_event = self._loop, self._wake_event
        if loop is not None and wake_event is not None and not loop.is_closed():
            loop.call_soon_threadsafe(wake_event.set)

    def stop(self) -> None:
        self._stopping.set()
        self.wake()

    def close(self) -> None:
        _senders.discard(self)
        self._client.close()


@asynccontextmanager
async def outbox_background(app: FastAPI) -> AsyncIterator[None]:
    """BACKGROUND entry: an outbox sender per worker (app.state.outbox_sender)."""
    settings: Settings = app.state.settings
    sender = OutboxSender(session_factory=app.state.session_factory, settings=settings)
    app.state.outbox_sender = sender
    task = asyncio.create_task(sender.run()) if settings.outbox_sender_enabled else None
    try:
        yield
    finally:
        sender.stop()
        if task is not None:
            with suppress(TimeoutError):  # wait_for has cancelled the loop by then
                await asyncio.wait_for(task, timeout=settings.outbox_http_timeout_seconds + 5)
        sender.close()
