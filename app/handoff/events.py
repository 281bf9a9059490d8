"""Real time across workers and replicas: an event log in the database, read by polling.

A change and its event are written in one transaction, so an event never announces
something that was rolled back. Every stream polls `id > last` on an index. On PostgreSQL
ids come from a sequence and can commit out of order, so a stream remembers the ids it
skipped and looks for them again for a few seconds before giving up on them (a rolled-back
insert leaves a gap for ever).
"""

import json
import time
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import anyio
from sqlalchemy import or_, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from app.handoff.models import Event

GAP_PATIENCE_SECONDS = 10.0
KEEPALIVE_SECONDS = 15.0
BATCH = 200
MAX_GAPS = 1000


def publish(
    *,
    session: Session,
    audience: str,
    type: str,
    payload: dict[str, Any],
    conversation_id: str | None = None,
) -> Event:
    event = Event(audience=audience, type=type, payload=payload, conversation_id=conversation_id)
    session.add(event)
    session.flush()
    return event


def latest_event_id(*, session: Session, audience: str) -> int:
    return (
        session.scalar(
            select(Event.id).where(Event.audience == audience).order_by(Event.id.desc()).limit(1)
        )
        or 0
    )


@dataclass
class Cursor:
    """Where a stream is: the highest id delivered, and ids skipped that may still commit."""

    last: int = 0
    gaps: dict[int, float] = field(default_factory=dict)  # id -> give up after (monotonic)

    def condition(self, column: Any) -> Any:
        if self.gaps:
            return or_(column > self.last, column.in_(sorted(self.gaps)))
        return column > self.last

    def advance(self, ids: Iterable[int], now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        for seen in sorted(ids):
            self.gaps.pop(seen, None)
            if seen > self.last:
                for missing in range(self.last + 1, seen):
                    self.gaps[missing] = now + GAP_PATIENCE_SECONDS
                self.last = seen
        live = sorted((gap, until) for gap, until in self.gaps.items() if until > now)
        self.gaps = dict(live[-MAX_GAPS:])


def read_events(*, session: Session, audience: str, cursor: Cursor) -> list[Event]:
    rows = list(
        session.scalars(
            select(Event)
            .where(Event.audience == audience, cursor.condition(Event.id))
            .order_by(Event.id)
            .limit(BATCH)
        )
    )
    cursor.advance(row.id for row in rows)
    return rows


def sse_frame(event: str, data: Any, event_id: int | None = None) -> str:
    lines = []
    if event_id is not None:
        lines.append(f"id: {event_id}")
    lines.append(f"event: {event}")
    lines.append("data: " + json.dumps(data, ensure_ascii=False, default=str))
    return "\n".join(lines) + "\n\n"


def resume_point(request: Request, after: int | None) -> int | None:
    """`Last-Event-ID` (a browser reconnecting) wins over `?after=`; None when neither."""
    header = request.headers.get("last-event-id", "").strip()
    if header.isdigit():
        return int(header)
    return after


async def stream(
    request: Request,
    poll: Callable[[], list[str]],
    *,
    poll_seconds: float,
    first: list[str] | None = None,
) -> AsyncIterator[str]:
    """Runs the blocking `poll` in a worker thread every `poll_seconds` until the client goes."""
    yield "retry: 2000\n\n"
    for frame in first or []:
        yield frame
    quiet_since = time.monotonic()
    while not await request.is_disconnected():
        frames = await run_in_threadpool(poll)
        for frame in frames:
            yield frame
        if frames:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since >= KEEPALIVE_SECONDS:
            yield ": keep-alive\n\n"  # proxies close idle connections
            quiet_since = time.monotonic()
        await anyio.sleep(poll_seconds)


SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
