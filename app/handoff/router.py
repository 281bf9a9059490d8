"""Operator queue, the customer's handoff endpoints, server-sent events, and KB suggestions."""

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import StreamingResponse

from app.conversations.schemas import MessageOut
from app.conversations.service import get_conversation
from app.dependencies import MAX_BIG_ID, EditorDep, OperatorDep, RowId, SessionDep, SettingsDep
from app.handoff import customer, events, learning, service
from app.handoff.dependencies import NowDep, StreamOperatorDep
from app.handoff.packet import handoff_out, handoff_packet
from app.handoff.schemas import (
    ApproveIn,
    CustomerHandoffIn,
    CustomerHandoffOut,
    HandoffList,
    HandoffOut,
    HandoffPacket,
    HandoffStatus,
    OperatorMessageIn,
    RatingIn,
    RatingOut,
    ResolveIn,
    SuggestionList,
    SuggestionOut,
)
from app.openapi import EVENT_STREAM, problems

router = APIRouter(prefix="/v1", tags=["handoff"])
# A route that checks a token answers 401 without one and 403 for the wrong role; a route on one
# handoff also answers 404, 409 (not in the state the action needs) and 403 (another operator
# holds it).
TOKEN_PROBLEMS = problems(401, 403)
HELD_PROBLEMS = problems(401, 403, 404, 409)


def _commit(session: SessionDep) -> None:
    """Commit before the response goes out: a yield dependency's own commit runs only after
    the response is sent, so a client's next request could miss this write."""
    session.commit()


# The customer: no token; the unguessable conversation id is the capability.


@router.post(
    "/conversations/{conversation_id}/handoff",
    response_model=CustomerHandoffOut,
    responses={
        201: {"model": CustomerHandoffOut, "description": "A new handoff"},
        **problems(404, 409),
    },
)
def request_person(
    conversation_id: str,
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    body: CustomerHandoffIn | None = None,
) -> CustomerHandoffOut:
    handoff, created, reply = customer.request_person(
        session=session,
        conversation_id=conversation_id,
        text=body.text if body else None,
        index=request.app.state.kb_index.current(),
        settings=settings,
        now=now,
    )
    response.status_code = 201 if created else 200
    _commit(session)
    return CustomerHandoffOut(
        handoff_id=handoff.id,
        conversation_id=conversation_id,
        status=handoff.status,  # type: ignore[arg-type]
        queue_position=service.queue_position(session=session, handoff=handoff),
        reply=reply,
        created=created,
    )


@router.get(
    "/conversations/{conversation_id}/events",
    response_class=StreamingResponse,
    responses={**EVENT_STREAM, **problems(404)},
)
def customer_events(
    conversation_id: str,
    request: Request,
    settings: SettingsDep,
    after: int | None = Query(
        default=None, ge=0, le=MAX_BIG_ID, description="the last message id you have"
    ),
) -> StreamingResponse:
    # A short session of its own: a request-scoped one would stay open as long as the stream.
    with request.app.state.session_factory() as session:
        get_conversation(session=session, conversation_id=conversation_id)  # 404, not a stream
    start = events.resume_point(request, after) or 0
    feed = customer.CustomerStream(request.app.state.session_factory, conversation_id, start)
    return StreamingResponse(
        events.stream(request, feed.poll, poll_seconds=settings.events_poll_seconds),
        media_type="text/event-stream",
        headers=events.SSE_HEADERS,
    )


@router.post(
    "/conversations/{conversation_id}/rating",
    response_model=RatingOut,
    status_code=201,
    responses=problems(404, 409),
)
def rate(conversation_id: str, body: RatingIn, session: SessionDep) -> RatingOut:
    handoff = service.rate(
        session=session, conversation_id=conversation_id, score=body.score, comment=body.comment
    )
    _commit(session)
    return RatingOut(handoff_id=handoff.id, score=body.score)


# Operators: a bearer token with the operator or admin role.


@router.get("/handoffs", response_model=HandoffList, responses=TOKEN_PROBLEMS)
def list_handoffs(
    session: SessionDep,
    _: OperatorDep,
    status: HandoffStatus = "waiting",
    limit: int = Query(default=100, ge=1, le=1000),
) -> HandoffList:
    rows = service.list_handoffs(session=session, status=status, limit=limit)
    return HandoffList(items=[handoff_out(session=session, handoff=h) for h in rows])


@router.get(
    "/handoffs/{handoff_id}",
    response_model=HandoffPacket,
    responses=problems(401, 403, 404),
)
def get_handoff(handoff_id: RowId, session: SessionDep, _: OperatorDep) -> HandoffPacket:
    handoff = service.get_handoff(session=session, handoff_id=handoff_id)
    return handoff_packet(session=session, handoff=handoff)


@router.post("/handoffs/{handoff_id}/claim", response_model=HandoffOut, responses=HELD_PROBLEMS)
def claim(handoff_id: RowId, session: SessionDep, operator: OperatorDep, now: NowDep) -> HandoffOut:
    handoff = service.claim(
        session=session, handoff_id=handoff_id, operator_name=operator.name, now=now
    )
    _commit(session)
    return handoff_out(session=session, handoff=handoff)


@router.post(
    "/handoffs/{handoff_id}/messages",
    response_model=MessageOut,
    status_code=201,
    responses=HELD_PROBLEMS,
)
def send_message(
    handoff_id: RowId,
    body: OperatorMessageIn,
    session: SessionDep,
    operator: OperatorDep,
    now: NowDep,
) -> MessageOut:
    message = service.post_operator_message(
        session=session,
        handoff_id=handoff_id,
        operator_name=operator.name,
        role=operator.role,
        text=body.text,
        article_id=body.article_id,
        now=now,
    )
    _commit(session)
    return MessageOut.model_validate(message)


@router.post("/handoffs/{handoff_id}/release", response_model=HandoffOut, responses=HELD_PROBLEMS)
def release(
    handoff_id: RowId, session: SessionDep, operator: OperatorDep, now: NowDep
) -> HandoffOut:
    handoff = service.release(
        session=session,
        handoff_id=handoff_id,
        operator_name=operator.name,
        role=operator.role,
        now=now,
    )
    _commit(session)
    return handoff_out(session=session, handoff=handoff)


@router.post("/handoffs/{handoff_id}/resolve", response_model=HandoffOut, responses=HELD_PROBLEMS)
def resolve(
    handoff_id: RowId,
    session: SessionDep,
    operator: OperatorDep,
    now: NowDep,
    body: ResolveIn | None = None,
) -> HandoffOut:
    body = body or ResolveIn()
    handoff = service.resolve(
        session=session,
        handoff_id=handoff_id,
        operator_name=operator.name,
        role=operator.role,
        article_id=body.article_id,
        note=body.note,
        now=now,
    )
    _commit(session)
    return handoff_out(session=session, handoff=handoff)


@router.get(
    "/operator/events",
    response_class=StreamingResponse,
    responses={**EVENT_STREAM, **TOKEN_PROBLEMS},
)
def operator_events(
    request: Request,
    settings: SettingsDep,
    _: StreamOperatorDep,
    after: int | None = Query(
        default=None, ge=0, le=MAX_BIG_ID, description="the last event id you have"
    ),
) -> StreamingResponse:
    start = events.resume_point(request, after)
    if start is None:  # a new console starts from now; it reads the queue with GET /v1/handoffs
        with request.app.state.session_factory() as session:
            start = events.latest_event_id(session=session, audience="operator")
    feed = customer.OperatorStream(request.app.state.session_factory, start)
    return StreamingResponse(
        events.stream(request, feed.poll, poll_seconds=settings.events_poll_seconds),
        media_type="text/event-stream",
        headers=events.SSE_HEADERS,
    )


# Editors: phrasings learnt from operators.


@router.get("/kb/suggestions", response_model=SuggestionList, responses=TOKEN_PROBLEMS)
def list_suggestions(
    session: SessionDep,
    _: EditorDep,
    status: str = Query(default="pending", pattern="^(pending|approved|rejected)$"),
    limit: int = Query(default=100, ge=1, le=1000),
) -> SuggestionList:
    rows = learning.list_suggestions(session=session, status=status, limit=limit)
    return SuggestionList(items=[SuggestionOut.model_validate(r) for r in rows])


@router.post(
    "/kb/suggestions/{suggestion_id}/approve",
    response_model=SuggestionOut,
    responses=problems(401, 403, 404, 409),
)
def approve_suggestion(
    suggestion_id: RowId,
    request: Request,
    session: SessionDep,
    editor: EditorDep,
    body: ApproveIn | None = None,
) -> SuggestionOut:
    suggestion = learning.approve(
        session=session,
        suggestion_id=suggestion_id,
        by=editor.name,
        phrasing=body.phrasing if body else None,
    )
    out = SuggestionOut.model_validate(suggestion)
    _commit(session)  # commit first, then rebuild, as the editor API does
    request.app.state.kb_index.rebuild_now()
    return out


@router.post(
    "/kb/suggestions/{suggestion_id}/reject",
    response_model=SuggestionOut,
    responses=problems(401, 403, 404, 409),
)
def reject_suggestion(
    suggestion_id: RowId, session: SessionDep, editor: EditorDep
) -> SuggestionOut:
    suggestion = learning.reject(session=session, suggestion_id=suggestion_id, by=editor.name)
    _commit(session)
    return SuggestionOut.model_validate(suggestion)
