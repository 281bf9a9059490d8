"""The customer-facing chat API."""

from datetime import datetime
from typing import Annotated

import anyio
from fastapi import APIRouter, Header, Query, Request, Response
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.datastructures import State

from app.conversations import receipts, service
from app.conversations.policy import Thresholds
from app.conversations.schemas import (
    ArticleRef,
    ChatRequest,
    ChatResponse,
    FeedbackIn,
    MessageList,
    MessageOut,
    Suggestion,
)
from app.dependencies import MAX_BIG_ID, BigRowId, SessionDep, SettingsDep
from app.handoff.dependencies import NowDep
from app.openapi import problems
from app.settings import Settings

router = APIRouter(prefix="/v1", tags=["chat"])


@router.post(
    "/chat",
    response_model=ChatResponse,
    response_model_exclude_unset=True,
    responses=problems(404, 409),
)
async def chat(
    chat_in: ChatRequest,
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            pattern=receipts.KEY_PATTERN,
            description="A new random key per message, the same when retrying it: a retry "
            "then gets the first response (header Idempotent-Replayed: true) and stores "
            f"nothing twice. Kept {receipts.RECEIPT_HOURS} hours.",
        ),
    ] = None,
    debug: bool = Query(default=False, description="include the decision's explanation"),
) -> ChatResponse:
    # The blocking work runs in a worker thread, as a sync route's would, but at most
    # settings.chat_threads_per_worker of them at once per process: with anyio's default
    # of 40, every waiting customer's message ran at once, each slowed by the others for the
    # GIL and, on SQLite, for the write lock, and the slowest took seconds. A message waiting
    # for a thread holds no database connection yet (the session connects on first use).
    reply, replayed = await anyio.to_thread.run_sync(
        _chat,
        chat_in,
        request.app.state,
        session,
        settings,
        now,
        idempotency_key,
        debug,
        limiter=request.app.state.chat_threads,
    )
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return reply


def _chat(
    chat_in: ChatRequest,
    state: State,
    session: Session,
    settings: Settings,
    now: datetime,
    idempotency_key: str | None,
    debug: bool,
) -> tuple[ChatResponse, bool]:
    """The response, and whether it is a replay of an earlier request's."""
    key = receipts.receipt_key(chat_in, idempotency_key) if idempotency_key else None
    if key is not None:
        stored = receipts.stored_response(session=session, key=key, chat_in=chat_in)
        if stored is not None:
            return ChatResponse.model_validate(stored), True
    response = _turn(chat_in, state, session, settings, now, debug)
    if key is not None:
        kept = response.model_dump(mode="json", exclude={"debug"})
        receipts.record(session=session, key=key, chat_in=chat_in, response=kept)
    # Commit before the response goes out: SessionDep's own commit runs after it is sent, and
    # the widget's next request (messages, events, the operator queue) must see this turn.
    try:
        session.commit()
    except IntegrityError:
        if key is None:
            raise
        # The same request, sent again before the first had answered, committed first: this
        # turn is rolled back whole and the first one's response given.
        session.rollback()
        stored = receipts.stored_response(session=session, key=key, chat_in=chat_in)
        if stored is None:
            raise
        return ChatResponse.model_validate(stored), True
    return response, False


def _turn(
    chat_in: ChatRequest,
    state: State,
    session: Session,
    settings: Settings,
    now: datetime,
    debug: bool,
) -> ChatResponse:
    conversation, message, decision = service.handle_message(
        session=session,
        index=state.kb_index.current(),
        intents=state.intents,
        thresholds=Thresholds(answer=settings.answer_threshold, handoff=settings.handoff_threshold),
        default_language=settings.default_language,
        chat_in=chat_in,
        settings=settings,
        now=now,
    )
    if decision is None:  # a person has the conversation; the bot stays silent
        return ChatResponse(
            conversation_id=conversation.id,
            message_id=message.id,
            status="handoff",
            reply="",
            article=None,
            confidence=0.0,
            suggestions=[],
        )
    response = ChatResponse(
        conversation_id=conversation.id,
        message_id=message.id,
        status=decision.status,  # type: ignore[arg-type]
        reply=decision.reply,
        article=ArticleRef(id=decision.article.id, title=decision.article.title)
        if decision.article and decision.status == "answered"
        else None,
        confidence=round(decision.confidence, 4),
        suggestions=[
            Suggestion(id=s.article_id, title=s.title, score=s.score) for s in decision.suggestions
        ],
    )
    if debug:  # only when asked, so the contract's plain shape stays plain
        response.debug = message.details
    return response


@router.get(
    "/conversations/{conversation_id}/messages",
    response_model=MessageList,
    responses=problems(404),
)
def list_messages(
    conversation_id: str, session: SessionDep, after: int = Query(default=0, ge=0, le=MAX_BIG_ID)
) -> MessageList:
    conversation, rows = service.list_messages(
        session=session, conversation_id=conversation_id, after=after
    )
    return MessageList(
        conversation_id=conversation.id,
        status=conversation.status,
        items=[MessageOut.model_validate(r) for r in rows],
    )


@router.post("/messages/{message_id}/feedback", status_code=201, responses=problems(404))
def give_feedback(message_id: BigRowId, body: FeedbackIn, session: SessionDep) -> dict[str, int]:
    feedback = service.add_feedback(
        session=session, message_id=message_id, value=body.value, comment=body.comment
    )
    return {"id": feedback.id, "message_id": feedback.message_id, "value": feedback.value}
