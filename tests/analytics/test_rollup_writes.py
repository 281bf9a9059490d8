"""The roll-up computes facts before it takes SQLite's write lock (which would hold up every
chat message), so another worker's roll-up may run in between: it must not be undone."""

import fcntl
import os
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.analytics import rollup
from app.analytics.models import ConversationFacts, DirtyConversation


def _chat(client: TestClient, text: str, conversation_id: str | None = None) -> str:
    body: dict[str, Any] = {"channel": "web", "user": {"id": "u-rollup"}, "text": text}
    if conversation_id:
        body["conversation_id"] = conversation_id
    response = client.post("/v1/chat", json=body)
    assert response.status_code == 200, response.text
    return str(response.json()["conversation_id"])


def _facts(client: TestClient, conversation_id: str) -> dict[str, Any]:
    with client.app.state.session_factory() as session:  # type: ignore[attr-defined]
        facts = session.get(ConversationFacts, conversation_id)
        assert facts is not None
        return {
            column.key: getattr(facts, column.key)
            for column in ConversationFacts.__table__.columns
            if column.key != "updated_at"
        }


# Only SQLite lets a second roll-up in (PostgreSQL's advisory lock serialises them whole).
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_roll_up_that_ran_between_anothers_reads_and_writes_is_not_undone(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    session_factory = client.app.state.session_factory  # type: ignore[attr-defined]
    conversation = _chat(client, "как оплатить картой")
    compute = rollup.compute_conversations
    meanwhile: list[str] = []

    def compute_while_another_worker_runs(**arguments: Any) -> rollup.FactRows:
        computed = compute(**arguments)  # this roll-up's reads: one question so far
        if not meanwhile:
            meanwhile.append("ran")
            # Before it writes, the customer asks again and another worker's roll-up takes
            # the whole queue.
            _chat(client, "какие есть тарифы", conversation)
            rollup.catch_up(session_factory=session_factory)
        return computed

    monkeypatch.setattr(rollup, "compute_conversations", compute_while_another_worker_runs)
    rollup.catch_up(session_factory=session_factory)
    assert meanwhile == ["ran"]
    assert _facts(client, conversation)["kb_questions"] == 2  # not the earlier reads' 1
    with session_factory() as session:
        assert session.scalars(select(DirtyConversation.id)).all() == []
    monkeypatch.undo()
    kept = _facts(client, conversation)
    rollup.rebuild(session_factory=session_factory)
    assert _facts(client, conversation) == kept  # what a full recomputation gives


def test_the_paced_background_roll_up_computes_the_same_facts_in_slices(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The background loop's roll-up sleeps between slices of conversations (so the worker's
    chat gets the GIL back); what it computes is what the unpaced one computes."""
    conversations = [_chat(client, text) for text in ["как оплатить картой", "тарифы", "hi"] * 2]
    with client.app.state.session_factory() as session:  # type: ignore[attr-defined]
        now = rollup.utcnow()
        whole = rollup.compute_conversations(
            session=session, conversation_ids=sorted(conversations), now=now
        )
        pauses: list[float] = []
        monkeypatch.setattr(rollup, "PACED_SLICE", 4)
        monkeypatch.setattr(rollup.time, "sleep", pauses.append)
        sliced = rollup.compute_conversations(
            session=session, conversation_ids=sorted(conversations), now=now, pace=1.0
        )
    for rows, expected in zip(sliced, whole, strict=True):  # in no particular order
        assert sorted(rows, key=repr) == sorted(expected, key=repr)
    assert whole[0]  # there were facts to compare
    assert len(pauses) == 1 and pauses[0] > 0  # 6 conversations: two slices, one pause between


def test_a_background_round_takes_the_queue_down_to_one_catch_up(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The chat queues about a row per message: under sustained load one catch-up per round
    fell behind, so a round runs catch-ups until no more than one takes is left."""
    session_factory = client.app.state.session_factory  # type: ignore[attr-defined]
    conversation = _chat(client, "как оплатить картой")
    for text in ["тарифы", "hi", "спасибо", "как вернуть деньги"]:
        _chat(client, text, conversation)
    others = [_chat(client, text) for text in ["тарифы", "hi", "как оплатить картой"]]

    def queued() -> int:
        with session_factory() as session:
            return len(session.scalars(select(DirtyConversation.id)).all())

    assert queued() >= 8  # a row per message
    monkeypatch.setattr(rollup, "CATCH_UP_LIMIT", 2)
    monkeypatch.setattr(rollup, "BACKGROUND_LIMIT", 2)
    monkeypatch.setattr(rollup.time, "sleep", lambda _: None)
    rollup.background_round(session_factory=session_factory)
    assert queued() <= 2  # what one catch-up takes (without the loop: 6 or more)
    rollup.catch_up(session_factory=session_factory)  # an analytics request's own
    assert queued() == 0
    for conversation_id in [conversation, *others]:
        _facts(client, conversation_id)  # asserts they are there


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_background_round_leaves_the_queue_to_another_workers_running_round(
    client: TestClient, database_url: str
) -> None:
    """On SQLite both workers' rounds computed the same rows at once and one threw its work
    away; a round that finds another running (its lock file held) leaves the queue to it."""
    session_factory = client.app.state.session_factory  # type: ignore[attr-defined]
    conversation = _chat(client, "как оплатить картой")
    lock = os.open(database_url.split("///", 1)[1] + "-rollup.lock", os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)  # the other worker's round
        rollup.background_round(session_factory=session_factory)
        with session_factory() as session:
            assert session.get(ConversationFacts, conversation) is None
            assert session.scalars(select(DirtyConversation.id)).all()
    finally:
        os.close(lock)
    rollup.background_round(session_factory=session_factory)
    assert _facts(client, conversation)["kb_questions"] == 1
