"""create_app(): routers, error handlers, and the start-up that loads the knowledge base."""

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from starlette.types import ASGIApp, Receive, Scope, Send

from app.analytics.prometheus import install_metrics
from app.analytics.rollup import refresh_loop
from app.analytics.router import metrics_router
from app.analytics.router import router as analytics_router
from app.auth.router import router as auth_router
from app.channels.outbox import outbox_background
from app.channels.router import router as channels_router
from app.conversations.receipts import receipt_purge
from app.conversations.router import router as chat_router
from app.conversations.turns import chat_batcher
from app.db import make_engine, make_session_factory
from app.dependencies import refuse_nul_characters
from app.errors import body_too_large, install_error_handlers, problem
from app.handoff.background import sla_requeue
from app.handoff.router import router as handoff_router
from app.kb.build_process import child_builder
from app.kb.loader import load_kb_dir
from app.kb.models import KnowledgeBaseState
from app.kb.reindex import IndexHolder, starter_synonyms, watch_kb_version
from app.kb.router import router as kb_router
from app.kb.service import bump_version, replace_synonyms
from app.matching.intents import IntentMatcher
from app.migrate import upgrade_database
from app.openapi import install_openapi, problems
from app.settings import Settings, get_settings
from app.web.console_router import router as console_router
from app.web.cors import install_widget_cors
from app.web.router import router as web_router

# Every request body, counted as it streams in (a chunked one too); uploads set their own limit
# (app/kb/router_import.py).
MAX_BODY_BYTES = 2 * 1024 * 1024

# One router per domain; add a domain's router here.
ROUTERS = [
    chat_router,
    kb_router,
    auth_router,
    web_router,
    channels_router,
    handoff_router,
    console_router,
    analytics_router,
    metrics_router,
]
# Work a domain runs while the app is up (outbox sender, handoff timers, event listeners):
# each is an async context manager factory taking the app, entered after the index is loaded.
BACKGROUND: list[Callable[[FastAPI], AbstractAsyncContextManager[None]]] = [
    sla_requeue,
    watch_kb_version,
    outbox_background,
    refresh_loop,
    receipt_purge,
]


class BodySizeLimit:
    """Refuses (413) a body whose Content-Length is over `max_bytes`, except for uploads to
    `.../import`, which have their own limit, as a problem document before anything reads it.

    The framework's limit (`include_router(..., max_body_size=...)`) counts the bytes as they
    stream in, which is what stops a chunked body with no Content-Length; its error reaches our
    handler (app/errors.py). But a declared Content-Length over the limit it answers itself, in
    plain text: this answers that one first.

    A plain ASGI middleware: `@app.middleware("http")` (BaseHTTPMiddleware) runs the rest of the
    app in a task group and streams every response through a memory stream, 6–7% of the chat
    endpoint's CPU under load (scripts/bench_load.py).
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope["path"].endswith("/import"):
            length = next((v for k, v in scope["headers"] if k == b"content-length"), b"")
            if length.isdigit() and int(length) > self.max_bytes:
                response = body_too_large(self.max_bytes)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _seed(session_factory, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    with session_factory() as session:
        if session.get_bind().dialect.name == "postgresql":
            # Workers start together: one seeds, the others wait and then find it done.
            session.execute(text("SELECT pg_advisory_xact_lock(724312)"))
        first_start = session.get(KnowledgeBaseState, 1) is None
        if first_start:
            bump_version(session=session)
            replace_synonyms(session=session, synonyms=starter_synonyms())
        load_kb_dir(session=session, kb_dir=settings.kb_dir)
        session.commit()


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    upgrade_database(settings.database_url)
    engine = make_engine(
        settings.database_url, sqlite_busy_timeout_seconds=settings.sqlite_busy_timeout_seconds
    )
    app.state.engine = engine
    app.state.session_factory = make_session_factory(engine)
    _seed(app.state.session_factory, settings)
    app.state.kb_index = IndexHolder(
        app.state.session_factory,
        poll_seconds=settings.kb_poll_seconds,
        full_build_pace=settings.kb_full_build_pace,
        builder=child_builder(settings.kb_child_build_articles),
    )
    app.state.intents = IntentMatcher.from_directory(settings.intents_dir)
    async with AsyncExitStack() as stack:
        app.state.chat_turns = stack.enter_context(chat_batcher(app.state))
        for background in BACKGROUND:
            await stack.enter_async_context(background(app))
        yield
    engine.dispose()


def create_app(settings: Settings | None = None) -> FastAPI:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    app = FastAPI(
        title="Answerdesk",
        version="0.1.0",
        description="Knowledge-base support bot with human handoff.",
        lifespan=lifespan,
        dependencies=[Depends(refuse_nul_characters)],
    )
    app.state.settings = settings or get_settings()
    install_error_handlers(app)
    install_openapi(app)
    install_widget_cors(app)
    install_metrics(app)

    # Added last, so it runs first: an oversized body is refused before any other middleware.
    app.add_middleware(BodySizeLimit, max_bytes=MAX_BODY_BYTES)

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"], responses=problems(503))
    def readyz(request: Request) -> JSONResponse:
        try:
            with request.app.state.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception as exc:  # the database is away: not ready, say why
            return problem(
                503, "Not ready", f"Database unreachable: {type(exc).__name__}", "not-ready"
            )
        index = request.app.state.kb_index.index
        return JSONResponse(
            {"status": "ready", "kb_version": index.version, "articles": len(index)}
        )

    for router in ROUTERS:
        # Per route, not app-wide: an app-wide limit would answer BodySizeLimit's refusals
        # over again, in plain text.
        app.include_router(router, max_body_size=MAX_BODY_BYTES)
    return app


app = create_app()
