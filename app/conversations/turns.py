"""Chat turns, one at a time or several in one transaction.

Under load most of a turn's database cost is per transaction (a session, a connection, the
commit; on PostgreSQL the round trips), so the turns waiting at the same moment are run
together (app/conversations/batcher.py): all of them read and decided first, then all written,
then one commit. Anything unexpected in a batch rolls it back whole and runs each turn alone,
as a single request would, so a batch never answers differently than its turns alone would;
only an unavailable database fails the whole batch at once (each turn a 503).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.datastructures import State

from app.analytics.prometheus import CHAT_BATCH_TURNS
from app.analytics.rollup import note_changed
from app.conversations import receipts, service
from app.conversations.batcher import Batcher
from app.conversations.models import Conversation, Message
from app.conversations.policy import Decision, Thresholds
from app.conversations.schemas import ArticleRef, ChatRequest, ChatResponse, Suggestion
from app.db import database_unavailable
from app.errors import AnswerdeskError


@dataclass(frozen=True, slots=True)
class ChatTurn:
    """One POST /v1/chat."""

    chat_in: ChatRequest
    now: datetime
    receipt_key: str | None = None  # receipts.receipt_key() of its Idempotency-Key, if sent
    debug: bool = False

    @property
    def conversation_id(self) -> str | None:
        return self.chat_in.conversation_id


# The response and whether it replays an earlier request's, or the error to answer with.
Outcome = tuple[ChatResponse, bool] | Exception


def chat_batcher(state: State) -> Batcher[ChatTurn, tuple[ChatResponse, bool]]:
    """The worker's chat threads (start them with `with`)."""
    settings = state.settings
    return Batcher(
        lambda turns: run_turns(state, turns),
        threads=settings.chat_threads_per_worker,
        batch_size=settings.chat_batch_size,
        group=lambda turn: turn.conversation_id,
        name="chat",
    )


def run_turns(state: State, turns: Sequence[ChatTurn]) -> list[Outcome]:
    """Each turn's outcome, in order. Turns of the same conversation must not share a call:
    all are decided before any is written."""
    CHAT_BATCH_TURNS.observe(len(turns))
    if len(turns) > 1:
        together = _run_together(state, turns)
        if together is not None:
            return together
    return [_run_alone(state, turn) for turn in turns]


def _run_alone(state: State, turn: ChatTurn) -> Outcome:
    with state.session_factory() as session:
        try:
            return _chat(state, session, turn)
        except Exception as error:  # the request's own error, answered as it would be alone
            session.rollback()
            return error


def _chat(state: State, session: Session, turn: ChatTurn) -> tuple[ChatResponse, bool]:
    replayed = _replayed(session, turn)
    if replayed is not None:
        return replayed, True
    stored = _store(state, session, turn, _prepare(state, session, turn))
    response = _respond(session, turn, *stored)
    try:
        session.commit()  # before the response goes out: the widget's next request sees it
    except IntegrityError:
        # The same request, sent again before the first had answered, committed first: this
        # turn is rolled back whole and the first one's response given.
        session.rollback()
        replayed = _replayed(session, turn)
        if replayed is None:
            raise
        return replayed, True
    return response, False


def _run_together(state: State, turns: Sequence[ChatTurn]) -> list[Outcome] | None:
    """The outcomes, or None when the batch had to be rolled back (nothing of it is stored)
    and its turns should run alone. When the database is unavailable (locked past the busy
    timeout, full, restarting) every turn gets that error, a 503 to retry."""
    outcomes: dict[int, Outcome] = {}
    prepared: dict[int, service.PreparedTurn] = {}
    with state.session_factory() as session:
        try:
            # Reads only: a pending new conversation is not flushed by the next turn's query.
            with session.no_autoflush:
                loaded = service.load_conversations(
                    session=session,
                    conversation_ids={t.conversation_id for t in turns if t.conversation_id},
                )
                for number, turn in enumerate(turns):
                    try:
                        replayed = _replayed(session, turn)
                        if replayed is not None:
                            outcomes[number] = (replayed, True)
                        else:
                            prepared[number] = _prepare(state, session, turn, loaded)
                    except AnswerdeskError as error:  # raised before the turn changed anything
                        outcomes[number] = error
            # Every conversation of the batch queued for the roll-ups in one INSERT, and every new
            # conversation's row in another: not one of each per flush and per turn.
            note_changed(session, {ready.conversation.id for ready in prepared.values()})
            service.insert_conversations(
                session=session, conversations=[ready.conversation for ready in prepared.values()]
            )
            unwritten: list[Message] = []
            stored = {
                number: _store(state, session, turns[number], ready, unwritten)
                for number, ready in prepared.items()
            }
            service.insert_messages(session=session, messages=unwritten)  # all turns' at once
            for number, turn_stored in stored.items():
                outcomes[number] = (_respond(session, turns[number], *turn_stored), False)
            session.commit()
        except Exception as error:
            session.rollback()
            if database_unavailable(error):  # alone, each would wait as long and fail alike
                return [error] * len(turns)
            return None
    return [outcomes[number] for number in range(len(turns))]  # every turn has one


def _replayed(session: Session, turn: ChatTurn) -> ChatResponse | None:
    """The response stored for the turn's Idempotency-Key, if this request was made before."""
    if turn.receipt_key is None:
        return None
    stored = receipts.stored_response(session=session, key=turn.receipt_key, chat_in=turn.chat_in)
    return None if stored is None else ChatResponse.model_validate(stored)


def _prepare(
    state: State, session: Session, turn: ChatTurn, loaded: service.Loaded | None = None
) -> service.PreparedTurn:
    settings = state.settings
    return service.prepare_turn(
        session=session,
        index=state.kb_index.current(),
        intents=state.intents,
        thresholds=Thresholds(answer=settings.answer_threshold, handoff=settings.handoff_threshold),
        default_language=settings.default_language,
        chat_in=turn.chat_in,
        loaded=loaded,
    )


def _store(
    state: State,
    session: Session,
    turn: ChatTurn,
    prepared: service.PreparedTurn,
    unwritten: list[Message] | None = None,
) -> tuple[Conversation, Message, Decision | None]:
    return service.store_turn(
        session=session,
        prepared=prepared,
        default_language=state.settings.default_language,
        settings=state.settings,
        now=turn.now,
        unwritten=unwritten,
    )


def _respond(
    session: Session,
    turn: ChatTurn,
    conversation: Conversation,
    message: Message,
    decision: Decision | None,
) -> ChatResponse:
    """The response to a stored turn; its receipt is added to the transaction."""
    response = _response(conversation, message, decision)
    if turn.receipt_key is not None:
        kept = response.model_dump(mode="json", exclude={"debug"})
        receipts.record(session=session, key=turn.receipt_key, chat_in=turn.chat_in, response=kept)
    if turn.debug:  # only when asked, so the contract's plain shape stays plain
        response.debug = message.details
    return response


def _response(
    conversation: Conversation, message: Message, decision: Decision | None
) -> ChatResponse:
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
    return ChatResponse(
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
