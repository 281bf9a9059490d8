"""`/metrics` in the Prometheus text format.

Two kinds of series, chosen so that the figures are right with several uvicorn workers:

- Request latency is measured in each process by a middleware. With more than one worker set
  PROMETHEUS_MULTIPROC_DIR (an empty directory, wiped at each start) before the server starts;
  every worker then writes its histogram there and any worker's `/metrics` sums them all.
- Business figures (bot replies by status, handoffs by reason, queue length, age of the oldest
  waiting handoff) are read from the database at scrape time, so every worker reports the same
  totals and they survive restarts.
"""

import os
import time
from typing import Any

from fastapi import FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy import func, select, type_coerce
from sqlalchemy.orm import Session, sessionmaker
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.types import Message as ASGIMessage

from app.conversations.models import Message
from app.db import UTCDateTime, utcnow
from app.handoff.models import Handoff

REQUEST_SECONDS = Histogram(
    "answerdesk_http_request_duration_seconds",
    "HTTP request latency by route template.",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
    registry=None,  # collected per scrape below, with or without multiprocess mode
)
# Under load a worker's chat thread runs the messages waiting at that moment together, in one
# transaction (app/conversations/turns.py): how many shared each.
CHAT_BATCH_TURNS = Histogram(
    "answerdesk_chat_batch_turns",
    "Chat messages handled together, in one transaction.",
    buckets=(1, 2, 4, 8, 16, 32, 64),
    registry=None,
)
UNMATCHED = "unmatched"
STREAMS = ("/v1/operator/events", "/v1/conversations/{conversation_id}/events")


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR")


class RequestTimer:
    """Observes each HTTP request's latency by method, route template and status.

    A plain ASGI middleware: Starlette's BaseHTTPMiddleware (`@app.middleware("http")`) runs
    the rest of the app in a task group and streams the response through a memory stream, a
    visible share of every request's CPU under load (scripts/bench_load.py).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_and_note(message: ASGIMessage) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            template = getattr(scope.get("route"), "path", None) or UNMATCHED
            if template not in STREAMS and template != "/metrics":
                REQUEST_SECONDS.labels(scope["method"], template, str(status)).observe(
                    time.perf_counter() - started
                )


def install_metrics(app: FastAPI) -> None:
    """The latency middleware; the route template keeps the label set small."""
    app.add_middleware(RequestTimer)


class DatabaseCollector:
    """Reads the business series from the database at each scrape."""

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self._session_factory = session_factory

    def collect(self) -> Any:
        messages = CounterMetricFamily(
            "answerdesk_chat_messages",
            "Bot replies stored, by status (answered, clarify, handoff, smalltalk).",
            labels=["status"],
        )
        handoffs = CounterMetricFamily(
            "answerdesk_handoffs", "Handoffs opened, by reason.", labels=["reason"]
        )
        queue = GaugeMetricFamily(
            "answerdesk_handoff_queue_length", "Handoffs waiting for an operator."
        )
        oldest = GaugeMetricFamily(
            "answerdesk_handoff_oldest_waiting_seconds",
            "Age of the oldest waiting handoff (since it last entered the queue); 0 if none.",
        )
        with self._session_factory() as session:
            for status, count in session.execute(
                select(Message.status, func.count())
                .where(Message.status.is_not(None))
                .group_by(Message.status)
            ):
                messages.add_metric([status], count)
            for reason, count in session.execute(
                select(Handoff.reason, func.count()).group_by(Handoff.reason)
            ):
                handoffs.add_metric([reason], count)
            waiting, since = session.execute(
                select(func.count(), type_coerce(func.min(Handoff.queued_at), UTCDateTime)).where(
                    Handoff.status == "waiting"
                )
            ).one()
        queue.add_metric([], waiting)
        oldest.add_metric([], max((utcnow() - since).total_seconds(), 0.0) if since else 0.0)
        return [messages, handoffs, queue, oldest]


def render(session_factory: sessionmaker[Session]) -> Response:
    registry = CollectorRegistry()
    if multiprocess_dir():
        MultiProcessCollector(registry)
    else:
        registry.register(REQUEST_SECONDS)
        registry.register(CHAT_BATCH_TURNS)
    registry.register(DatabaseCollector(session_factory))  # type: ignore[arg-type]
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
