"""POST /v1/chat with an Idempotency-Key: a retry gets the first answer and stores nothing twice."""

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from app.conversations import receipts
from app.db import utcnow
from tests.conftest import count_rows, new_user
from tests.resilience.checks import writes_blocked


def post(client: Any, body: dict[str, Any], key: str | None) -> httpx.Response:
    headers = {"Idempotency-Key": key} if key else {}
    return client.post("/v1/chat", json=body, headers=headers)


def test_a_retry_gets_the_first_answer_and_the_conversation_one_turn(
    client: TestClient, database_url: str
) -> None:
    body = {"channel": "web", "user": new_user(), "text": "Как оплатить интернет картой?"}
    key = str(uuid.uuid4())
    first = post(client, body, key)
    assert first.status_code == 200, first.text
    assert "Idempotent-Replayed" not in first.headers
    messages = count_rows(database_url, "messages")
    conversations = count_rows(database_url, "conversations")

    again = post(client, body, key)  # no conversation id yet: the client never got the answer
    assert again.status_code == 200, again.text
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert count_rows(database_url, "messages") == messages
    assert count_rows(database_url, "conversations") == conversations
    history = client.get(f"/v1/conversations/{first.json()['conversation_id']}/messages")
    assert [m["role"] for m in history.json()["items"]] == ["customer", "bot"]


def test_without_a_key_the_same_message_twice_is_two_turns(
    client: TestClient, database_url: str
) -> None:
    user = new_user()
    first = post(client, {"user": user, "text": "привет"}, None).json()
    body = {"user": user, "text": "привет", "conversation_id": first["conversation_id"]}
    post(client, body, None)
    post(client, body, None)
    history = client.get(f"/v1/conversations/{first['conversation_id']}/messages").json()
    assert len(history["items"]) == 6


def test_a_key_reused_for_another_message_is_refused_and_stores_nothing(
    client: TestClient, database_url: str
) -> None:
    user, key = new_user(), str(uuid.uuid4())
    assert post(client, {"user": user, "text": "привет"}, key).status_code == 200
    messages = count_rows(database_url, "messages")
    refused = post(client, {"user": user, "text": "как оплатить картой"}, key)
    assert refused.status_code == 422
    problem = refused.json()
    assert problem["type"].endswith("/idempotency-key-reused")
    assert problem["title"] == "Idempotency key reused"
    assert "new key" in problem["detail"]
    assert count_rows(database_url, "messages") == messages


def test_keys_belong_to_their_customer(client: TestClient) -> None:
    key = "same-key-for-both"
    first = post(client, {"user": new_user(), "text": "привет"}, key)
    second = post(client, {"user": new_user(), "text": "привет"}, key)
    assert second.status_code == 200
    assert "Idempotent-Replayed" not in second.headers
    assert second.json()["conversation_id"] != first.json()["conversation_id"]


def test_a_malformed_key_is_a_clear_422(client: TestClient) -> None:
    body = {"user": new_user(), "text": "привет"}
    for bad in ("", "x" * 256, "has space", "ключ"):
        response = client.post("/v1/chat", json=body, headers={"Idempotency-Key": bad.encode()})
        assert response.status_code == 422, bad
        assert response.json()["title"]


def test_a_retry_while_a_person_has_the_conversation_is_not_shown_to_them_twice(
    client: TestClient, database_url: str
) -> None:
    user = new_user()
    handed = post(client, {"user": user, "text": "позовите оператора"}, None).json()
    assert handed["status"] == "handoff"
    body = {"user": user, "text": "алло?", "conversation_id": handed["conversation_id"]}
    key = str(uuid.uuid4())
    first = post(client, body, key)
    messages = count_rows(database_url, "messages")
    again = post(client, body, key)
    assert again.json() == first.json()
    assert count_rows(database_url, "messages") == messages


def test_receipts_are_forgotten_after_a_day(client: TestClient, database_url: str) -> None:
    body = {"user": new_user(), "text": "привет"}
    key = str(uuid.uuid4())
    post(client, body, key)
    engine = create_engine(database_url)
    with Session(engine) as session:
        assert receipts.purge(session=session, now=utcnow() + timedelta(hours=23)) == 0
        assert receipts.purge(session=session, now=utcnow() + timedelta(hours=25)) >= 1
        session.commit()
    engine.dispose()
    again = post(client, body, key)  # the key is free again: a new turn
    assert "Idempotent-Replayed" not in again.headers


def test_a_retry_sent_while_the_first_request_is_still_running_makes_one_turn(
    live_server_factory, database_url: str
) -> None:  # type: ignore[no-untyped-def]
    # Two threads of one worker: both requests look for a receipt before either has stored
    # one, both wait for the write lock, and the second's receipt then collides with the first.
    server = live_server_factory(ANSWERDESK_CHAT_THREADS="4")
    body = {"channel": "web", "user": new_user(), "text": "how do I pay by card"}
    key = str(uuid.uuid4())
    with httpx.Client(base_url=server.url, timeout=30) as http, ThreadPoolExecutor(2) as pool:
        with writes_blocked(database_url):
            pending = [pool.submit(post, http, body, key) for _ in range(2)]
            time.sleep(1.5)  # both are now past their lookup, waiting to write
            assert not any(p.done() for p in pending)
        answers = [p.result() for p in pending]
        assert [a.status_code for a in answers] == [200, 200], [a.text for a in answers]
        assert answers[0].json() == answers[1].json()
        assert sorted(a.headers.get("Idempotent-Replayed", "") for a in answers) == ["", "true"]
        conversation_id = answers[0].json()["conversation_id"]
        history = http.get(f"/v1/conversations/{conversation_id}/messages").json()
    assert [m["role"] for m in history["items"]] == ["customer", "bot"]
    assert count_rows(database_url, "conversations", user_id=body["user"]["id"]) == 1  # type: ignore[index]
