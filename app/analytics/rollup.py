"""Keeping the analytics tables current.

1. A session listener notes every conversation whose messages, feedback, handoffs or events
   change, in `analytics_dirty`, inside the same transaction as the change (`note_changed`,
   which writes that bypass the ORM's flush call themselves).
2. `catch_up` (run by a background loop in every worker, and before each analytics query)
   recomputes those conversations' facts and the daily roll-ups of the days they touch, plus
   the days whose time-dependent counts (24 h / 7 day windows) have moved since.
3. `rebuild` recomputes everything from the source tables (bulk loads, the benchmark).

Roll-ups are serialised (a PostgreSQL advisory lock; on SQLite `BEGIN IMMEDIATE`, taken only
once the facts are computed, with a check that the queue rows read are still there), and every
step is a recomputation, so running it twice or in two workers gives the same rows.
"""

import fcntl
import logging
import os
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from datetime import date, datetime
from itertools import chain
from typing import Any

from fastapi import FastAPI
from sqlalchemy import and_, case, delete, event, func, or_, select, type_coerce
from sqlalchemy.orm import Session, SessionTransaction, aliased, sessionmaker

from app.analytics import metrics
from app.analytics.models import (
    ArticleFacts,
    ConversationFacts,
    DailyRollup,
    DirtyConversation,
    HandoffFacts,
)
from app.analytics.outcomes import log_handoff_outcomes
from app.background import run_every
from app.bulk_insert import insert_rows
from app.conversations.models import Conversation, Feedback, Message
from app.db import JSONType, UTCDateTime, lockable_sqlite_file, one_of, utcnow
from app.handoff.models import Event, Handoff

log = logging.getLogger("answerdesk.analytics")
BATCH = 500
CATCH_UP_LIMIT = 5_000  # queue rows per call; the background loop takes the rest
BACKGROUND_LIMIT = 50_000  # queue rows per background catch-up (see background_round)
LOCK_KEY = 724316
# The background loop computes facts in slices of PACED_SLICE conversations and, after each,
# sleeps `pace` times as long as the slice took (see refresh_loop).
PACED_SLICE = 100
BACKGROUND_PACE = 1.0


# 1. Noting changes -----------------------------------------------------------------------


def _changed_conversations(session: Session) -> set[str]:
    ids: set[str] = set()
    for obj in chain(session.new, session.dirty, session.deleted):
        if isinstance(obj, Conversation):
            ids.add(obj.id)
        elif isinstance(obj, Message | Feedback | Handoff | Event) and obj.conversation_id:
            ids.add(obj.conversation_id)
    return ids


# Conversations already queued by this transaction: a chat message flushes more than once, and
# one queue row per conversation and transaction is enough.
_NOTED = "analytics_noted"


def note_changed(session: Session, conversation_ids: Iterable[str]) -> None:
    """Queues these conversations for recomputation in the session's transaction, once each.

    The flush listener calls it for every ORM change; a write that bypasses the flush (the chat
    turn's Core INSERT, app/conversations/service.py) must call it itself."""
    noted: set[str] = session.info.setdefault(_NOTED, set())
    ids = set(conversation_ids) - noted
    if ids:
        now = utcnow()
        rows = [{"conversation_id": i, "created_at": now} for i in sorted(ids)]
        insert_rows(session.connection(), DirtyConversation, rows)
        noted |= ids


def _after_flush(session: Session, _context: Any) -> None:
    log_handoff_outcomes(session)
    note_changed(session, _changed_conversations(session))


def _transaction_end(session: Session, transaction: SessionTransaction) -> None:
    # The transaction's or a savepoint's end (not a flush's inner one): a rolled-back row must
    # be queued again; after a commit a second row would merely be redundant.
    if transaction.parent is None or transaction.nested:
        session.info.pop(_NOTED, None)


if not event.contains(Session, "after_flush", _after_flush):
    event.listen(Session, "after_flush", _after_flush)
if not event.contains(Session, "after_transaction_end", _transaction_end):
    event.listen(Session, "after_transaction_end", _transaction_end)


# 2. Recomputing facts --------------------------------------------------------------------


def _load(session: Session, ids: Sequence[str]) -> dict[str, Any]:
    conversations = list(
        session.scalars(select(Conversation).where(one_of(session, Conversation.id, ids)))
    )
    messages: dict[str, list[metrics.MessageEvent]] = defaultdict(list)
    for row in session.execute(
        select(
            Message.conversation_id,
            Message.id,
            Message.role,
            Message.status,
            Message.reason,
            Message.article_id,
            Message.created_at,
            # the facts read a reply's details only for a clarify's choices: not the others'
            # candidates, features and normalized text
            type_coerce(case((Message.status == "clarify", Message.details)), JSONType),
        )
        .where(one_of(session, Message.conversation_id, ids))
        .order_by(Message.conversation_id, Message.id)
    ):
        messages[row[0]].append(metrics.MessageEvent(*row[1:7], details=row[7] or {}))
    feedback: dict[str, list[metrics.FeedbackEvent]] = defaultdict(list)
    for row in session.execute(
        select(Feedback.conversation_id, Feedback.message_id, Feedback.value, Feedback.created_at)
        .where(one_of(session, Feedback.conversation_id, ids))
        .order_by(Feedback.id)
    ):
        feedback[row[0]].append(metrics.FeedbackEvent(*row[1:]))
    handoffs: dict[str, list[metrics.HandoffEvent]] = defaultdict(list)
    for row in session.execute(
        select(
            Handoff.conversation_id,
            Handoff.id,
            Handoff.reason,
            Handoff.created_at,
            Handoff.first_response_at,
            Handoff.resolved_at,
            Handoff.rating,
            Handoff.trigger_message_id,
        )
        .where(one_of(session, Handoff.conversation_id, ids))
        .order_by(Handoff.id)
    ):
        handoffs[row[0]].append(metrics.HandoffEvent(*row[1:]))
    users = {c.user_id for c in conversations}
    starts: dict[str, list[datetime]] = defaultdict(list)
    for user_id, created_at in session.execute(
        select(Conversation.user_id, Conversation.created_at).where(
            one_of(session, Conversation.user_id, users)
        )
    ):
        starts[user_id].append(created_at)
    return {
        "conversations": conversations,
        "messages": messages,
        "feedback": feedback,
        "handoffs": handoffs,
        "starts": starts,
    }


def _next_contact(starts: list[datetime], after: datetime) -> datetime | None:
    return min((s for s in starts if s > after), default=None)


def _seconds(later: datetime | None, earlier: datetime) -> float | None:
    return None if later is None else max((later - earlier).total_seconds(), 0.0)


def _rows_for(data: dict[str, Any], now: datetime) -> tuple[list[dict], list[dict], list[dict]]:
    facts_rows, article_rows, handoff_rows = [], [], []
    for conversation in data["conversations"]:
        started = conversation.created_at
        channel, language = conversation.channel, conversation.language or ""
        handoffs = data["handoffs"][conversation.id]
        next_contact = _next_contact(data["starts"][conversation.user_id], started)
        facts = metrics.conversation_facts(
            messages=data["messages"][conversation.id],
            feedback=data["feedback"][conversation.id],
            handoffs=handoffs,
            next_contact_at=next_contact,
        )
        common = {"started_at": started, "channel": channel, "language": language}
        facts_rows.append(
            {
                "conversation_id": conversation.id,
                **common,
                "day": started.date(),
                "hour": started.replace(minute=0, second=0, microsecond=0),
                "user_id": conversation.user_id,
                "kb_questions": facts.kb_questions,
                "has_kb_question": facts.has_kb_question,
                "smalltalk_only": facts.smalltalk_only,
                "direct_handoff": facts.direct_handoff,
                "handed_off": facts.handed_off,
                "deflected": facts.deflected,
                "clarify_replies": facts.clarify_replies,
                "clarify_taken": facts.clarify_taken,
                "thumbs_up": facts.thumbs_up,
                "thumbs_down": facts.thumbs_down,
                "rating_sum": facts.rating_sum,
                "rating_count": facts.rating_count,
                "final_answer_at": facts.final_answer_at,
                "auto_settles_at": facts.auto_settles_at,
                "durable_settles_at": facts.durable_settles_at,
                "next_contact_at": next_contact,
                "updated_at": now,
            }
        )
        for article_id, counts in facts.articles.items():
            article_rows.append(
                {
                    "conversation_id": conversation.id,
                    "article_id": article_id,
                    **common,
                    "served": counts.served,
                    "thumbs_up": counts.thumbs_up,
                    "thumbs_down": counts.thumbs_down,
                    "handoffs_after": counts.handoffs_after,
                }
            )
        for handoff in handoffs:
            handoff_rows.append(
                {
                    "handoff_id": handoff.id,
                    "conversation_id": conversation.id,
                    **common,
                    "reason": handoff.reason,
                    "first_response_seconds": _seconds(
                        handoff.first_response_at, handoff.created_at
                    ),
                    "resolution_seconds": _seconds(handoff.resolved_at, handoff.created_at),
                }
            )
    return facts_rows, article_rows, handoff_rows


# Rows of ConversationFacts, ArticleFacts and HandoffFacts, computed for some conversations.
FactRows = tuple[list[dict], list[dict], list[dict]]


def compute_conversations(
    *, session: Session, conversation_ids: Sequence[str], now: datetime, pace: float = 0.0
) -> FactRows:
    """These conversations' fact rows, from reads only: on SQLite no write lock is needed yet.
    With `pace`, in slices of PACED_SLICE, each followed by a sleep `pace` times its length."""
    computed: FactRows = ([], [], [])
    size = PACED_SLICE if pace else BATCH
    for start in range(0, len(conversation_ids), size):
        began = time.perf_counter()
        chunk = conversation_ids[start : start + size]
        for rows, more in zip(computed, _rows_for(_load(session, chunk), now), strict=True):
            rows.extend(more)
        if pace and start + size < len(conversation_ids):
            time.sleep((time.perf_counter() - began) * pace)
    return computed


def store_conversations(
    *,
    session: Session,
    conversation_ids: Sequence[str],
    computed: FactRows,
    replace: bool = True,
) -> set[date]:
    """Writes computed fact rows in place of these conversations' old ones; returns the days
    whose roll-ups changed."""
    days: set[date] = set()
    if replace:
        days = _values_of(
            session, ConversationFacts.day, ConversationFacts.conversation_id, conversation_ids
        )
        for start in range(0, len(conversation_ids), BATCH):
            chunk = conversation_ids[start : start + BATCH]
            for model in (ConversationFacts, ArticleFacts, HandoffFacts):
                session.execute(delete(model).where(one_of(session, model.conversation_id, chunk)))
    for model, rows in zip((ConversationFacts, ArticleFacts, HandoffFacts), computed, strict=True):
        for start in range(0, len(rows), BATCH):
            insert_rows(session.connection(), model, rows[start : start + BATCH])
    days.update(row["day"] for row in computed[0])
    return days


def refresh_conversations(
    *, session: Session, conversation_ids: Iterable[str], now: datetime, replace: bool = True
) -> set[date]:
    """Recomputes these conversations' facts; returns the days whose roll-ups changed."""
    ids = sorted(set(conversation_ids))
    computed = compute_conversations(session=session, conversation_ids=ids, now=now)
    return store_conversations(
        session=session, conversation_ids=ids, computed=computed, replace=replace
    )


def _earlier_of_same_customers(session: Session, conversation_ids: Sequence[str]) -> set[str]:
    """A new conversation is a new contact for the customer's earlier ones (durable rate)."""
    found: set[str] = set()
    earlier, new = ConversationFacts, aliased(ConversationFacts)
    for start in range(0, len(conversation_ids), BATCH):
        chunk = conversation_ids[start : start + BATCH]
        # one query per chunk, not one per new conversation
        found.update(
            session.scalars(
                select(earlier.conversation_id)
                .join(
                    new,
                    and_(
                        new.user_id == earlier.user_id,
                        earlier.started_at < new.started_at,
                        or_(
                            earlier.next_contact_at.is_(None),
                            earlier.next_contact_at > new.started_at,
                        ),
                    ),
                )
                .where(one_of(session, new.conversation_id, chunk))
                .distinct()
            )
        )
    return found - set(conversation_ids)


# 3. Daily roll-ups -----------------------------------------------------------------------


def fact_sums(now: datetime) -> list[Any]:
    """The roll-up columns as SQL aggregates over ConversationFacts, in metrics.COUNTS order."""
    f = ConversationFacts
    settled = [
        func.coalesce(func.sum(case((column <= now, 1), else_=0)), 0)
        for column in (f.auto_settles_at, f.durable_settles_at)
    ]
    plain = [
        func.count(),
        *(
            func.coalesce(func.sum(column), 0)
            for column in (
                f.has_kb_question,
                f.smalltalk_only,
                f.direct_handoff,
                f.handed_off,
                f.deflected,
                f.kb_questions,
                f.clarify_replies,
                f.clarify_taken,
                f.thumbs_up,
                f.thumbs_down,
                f.rating_sum,
                f.rating_count,
            )
        ),
    ]
    return [*plain, *settled]


def _next_change(now: datetime) -> list[Any]:
    f = ConversationFacts
    return [
        type_coerce(func.min(case((column > now, column), else_=None)), UTCDateTime)
        for column in (f.auto_settles_at, f.durable_settles_at)
    ]


def recompute_days(*, session: Session, days: Iterable[date] | None, now: datetime) -> int:
    """Rewrites the roll-up rows of these days (all days when None); returns rows written."""
    f = ConversationFacts
    wanted = None if days is None else sorted(set(days))
    chunks: list[list[date] | None] = (
        [None] if wanted is None else [wanted[i : i + 200] for i in range(0, len(wanted), 200)]
    )
    written = 0
    for chunk in chunks:
        query = select(f.day, f.channel, f.language, *fact_sums(now), *_next_change(now))
        if chunk is not None:
            query = query.where(one_of(session, f.day, chunk))
            session.execute(delete(DailyRollup).where(one_of(session, DailyRollup.day, chunk)))
        else:
            session.execute(delete(DailyRollup))
        rows = []
        for row in session.execute(query.group_by(f.day, f.channel, f.language)):
            counts = dict(zip(metrics.COUNTS, row[3:18], strict=True))
            changes = [c for c in row[18:20] if c is not None]
            rows.append(
                {
                    "day": row[0],
                    "channel": row[1],
                    "language": row[2],
                    **{k: int(v) for k, v in counts.items()},
                    "next_change_at": min(changes) if changes else None,
                    "computed_at": now,
                }
            )
        insert_rows(session.connection(), DailyRollup, rows)
        written += len(rows)
    return written


# Running it ------------------------------------------------------------------------------


def _serialize(session: Session) -> None:
    """PostgreSQL: one roll-up at a time, for the whole transaction (readers and the chat are
    not held up by an advisory lock)."""
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({LOCK_KEY})")


def _write_lock(session: Session) -> None:
    """SQLite: its write lock, taken before the reads that must see the latest commit. It
    holds every writer up, the chat included: take it for the writes only."""
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def _stale_days(session: Session, now: datetime) -> set[date]:
    return set(
        session.scalars(
            select(DailyRollup.day)
            .where(or_(DailyRollup.next_change_at <= now, DailyRollup.computed_at > now))
            .distinct()
        )
    )


def _queued_beyond(session: Session, rows: int) -> bool:
    """Whether more than `rows` queue rows are waiting."""
    query = select(DirtyConversation.id).order_by(DirtyConversation.id).offset(rows).limit(1)
    return session.scalar(query) is not None


def has_work(*, session: Session, now: datetime) -> bool:
    if _queued_beyond(session, 0):
        return True
    return bool(
        session.scalar(
            select(DailyRollup.day)
            .where(or_(DailyRollup.next_change_at <= now, DailyRollup.computed_at > now))
            .limit(1)
        )
    )


def catch_up(
    *,
    session_factory: sessionmaker[Session],
    now: datetime | None = None,
    limit: int = 0,
    pace: float = 0.0,
) -> int:
    """Processes the queue and stale days; returns how many conversations it recomputed.
    `pace`: see compute_conversations."""
    now = now or utcnow()
    with session_factory() as session:
        if not has_work(session=session, now=now):
            return 0
    with session_factory() as session:
        _serialize(session)
        queued = session.execute(
            select(DirtyConversation.id, DirtyConversation.conversation_id)
            .order_by(DirtyConversation.id)
            .limit(limit or CATCH_UP_LIMIT)
        ).all()
        ids = sorted({row[1] for row in queued})
        # The facts are computed before SQLite's write lock is taken (it would hold up every
        # chat message for as long), then only the conversations still queued are written.
        computed = compute_conversations(session=session, conversation_ids=ids, now=now, pace=pace)
        _write_lock(session)
        ids, computed, taken = _still_queued(session, queued, ids, computed)
        existing = _values_of(
            session, ConversationFacts.conversation_id, ConversationFacts.conversation_id, ids
        )
        days = store_conversations(session=session, conversation_ids=ids, computed=computed)
        new = [i for i in ids if i not in existing]
        earlier = _earlier_of_same_customers(session, new)
        if earlier:
            days |= refresh_conversations(session=session, conversation_ids=earlier, now=now)
        for start in range(0, len(taken), BATCH):
            session.execute(
                delete(DirtyConversation).where(
                    one_of(session, DirtyConversation.id, taken[start : start + BATCH])
                )
            )
        days |= _stale_days(session, now)
        if days:
            recompute_days(session=session, days=days, now=now)
        session.commit()
        return len(ids) + len(earlier)


def _still_queued(
    session: Session, queued: Sequence[Any], ids: list[str], computed: FactRows
) -> tuple[list[str], FactRows, list[int]]:
    """The conversations, fact rows and queue rows to write now. On SQLite another worker's
    roll-up may have run between this one's reads and its write lock: it removed the queue rows
    it took, and a conversation none of whose rows is left was recomputed there from reads at
    least as recent; any change since has a queue row of its own, left for the next run."""
    queue_ids = [row[0] for row in queued]
    left = _values_of(session, DirtyConversation.id, DirtyConversation.id, queue_ids)
    if len(left) == len(queue_ids):
        return ids, computed, queue_ids
    keep = {row[1] for row in queued if row[0] in left}
    facts, articles, handoffs = (
        [row for row in rows if row["conversation_id"] in keep] for rows in computed
    )
    return sorted(keep), (facts, articles, handoffs), sorted(left)


def _values_of(session: Session, column: Any, key: Any, keys: Sequence[Any]) -> set[Any]:
    """The distinct values of `column` in the rows whose `key` is one of `keys`, asked in
    chunks of BATCH (a query's parameters are limited)."""
    found: set[Any] = set()
    for start in range(0, len(keys), BATCH):
        found.update(
            session.scalars(select(column).where(one_of(session, key, keys[start : start + BATCH])))
        )
    return found


def rebuild(*, session_factory: sessionmaker[Session], now: datetime | None = None) -> int:
    """Recomputes every analytics row from the source tables; returns conversations done."""
    now = now or utcnow()
    with session_factory() as session:
        _serialize(session)
        _write_lock(session)
        last_queued = session.scalar(select(func.max(DirtyConversation.id))) or 0
        for model in (ArticleFacts, HandoffFacts, ConversationFacts, DailyRollup):
            session.execute(delete(model))
        ids = list(session.scalars(select(Conversation.id).order_by(Conversation.id)))
        for start in range(0, len(ids), BATCH * 4):
            refresh_conversations(
                session=session,
                conversation_ids=ids[start : start + BATCH * 4],
                now=now,
                replace=False,
            )
        recompute_days(session=session, days=None, now=now)
        session.execute(delete(DirtyConversation).where(DirtyConversation.id <= last_queued))
        session.commit()
        return len(ids)


def background_round(*, session_factory: sessionmaker[Session]) -> None:
    """One round of the background loop: paced catch-ups, back to back while the queue holds
    more than one takes. The chat queues about a row per message: with one catch-up of
    CATCH_UP_LIMIT rows per round, at 950 messages/s on SQLite (scripts/bench_load.py) the
    queue grew by 5,000 rows a round, to 26,000 after a minute, and an analytics request's own
    catch-up (one, unpaced) no longer made its answer current.

    A background catch-up takes up to BACKGROUND_LIMIT rows, a round's worth of heavy traffic:
    each catch-up also recomputes its days' roll-ups from all their facts (on SQLite under the
    write lock), and in 5,000-row catch-ups back to back that cost grew with the day's traffic.
    Against one 5,000-row catch-up a round, which fell behind (scripts/bench_ab.py, 4 rounds):
    SQLite at 64 customers 3% fewer messages/s and p99 151 ms against 123 (back to back: 8% and
    254 ms); PostgreSQL at 32 customers no difference."""
    with _first_round(session_factory) as first:
        if not first:
            return
        catch_up(session_factory=session_factory, limit=BACKGROUND_LIMIT, pace=BACKGROUND_PACE)
        while _backlogged(session_factory):
            catch_up(session_factory=session_factory, limit=BACKGROUND_LIMIT, pace=BACKGROUND_PACE)


def _backlogged(session_factory: sessionmaker[Session]) -> bool:
    """More queued than an analytics request's catch-up takes."""
    with session_factory() as session:
        return _queued_beyond(session, CATCH_UP_LIMIT)


@contextmanager
def _first_round(session_factory: sessionmaker[Session]) -> Iterator[bool]:
    """Whether no other worker's background round is running, on a SQLite file (a flock on
    `<database>-rollup.lock`, not waited for); elsewhere True. On SQLite both workers' rounds
    computed the same queue rows at once and one then threw its work away (_still_queued);
    PostgreSQL's advisory lock makes the second wait and then take the rows after them."""
    url = session_factory.kw["bind"].url.render_as_string(hide_password=False)
    database = lockable_sqlite_file(url)
    if database is None:
        yield True
        return
    lock = os.open(f"{database}-rollup.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(lock)  # and with it the flock


@asynccontextmanager
async def refresh_loop(app: FastAPI) -> AsyncIterator[None]:
    """BACKGROUND task: keeps the roll-ups current every analytics_refresh_seconds.

    Paced: it runs in a thread of a worker that is answering chat. Computing facts is pure
    Python, which holds the GIL 5 ms at a time while another thread waits for it, so unpaced a
    busy catch-up (under load, most of a second every 10 s) halved that worker's chat for as
    long as it ran, and made most of the chat's slowest 1% (scripts/bench_ab.py)."""

    def refresh() -> None:
        background_round(session_factory=app.state.session_factory)

    async with run_every(
        app.state.settings.analytics_refresh_seconds, refresh, what="analytics refresh"
    ):
        yield
