"""The customer-facing chat API."""

from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response

from app.conversations import receipts, service
from app.conversations.schemas import (
    ChatRequest,
    ChatResponse,
    FeedbackIn,
    MessageList,
    MessageOut,
)
from app.conversations.turns import ChatTurn
from app.dependencies import MAX_BIG_ID, BigRowId, SessionDep
from app.handoff.dependencies import NowDep
from app.openapi import problems

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
    # The worker's chat thread runs it (app/conversations/batcher.py), with the other messages
    # waiting at that moment, in one transaction (app/conversations/turns.py). A thread or two
    # per worker (settings.chat_threads_per_worker): with anyio's default of 40, every waiting
    # customer's message ran at once, each slowed by the others for the GIL and, on SQLite, for
    # the write lock, and the slowest took seconds. A waiting message holds no connection.
    turn = ChatTurn(
        chat_in=chat_in,
        now=now,
        receipt_key=receipts.receipt_key(chat_in, idempotency_key) if idempotency_key else None,
        debug=debug,
    )
    reply, replayed = await request.app.state.chat_turns.submit(turn)
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return reply


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
