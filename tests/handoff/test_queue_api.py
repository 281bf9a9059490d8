"""The operator queue over HTTP: list, packet, claim, reply, release, resolve, rating."""

from fastapi.testclient import TestClient

from tests.conftest import new_user
from tests.factories import chat
from tests.handoff.conftest import ADMIN, hand_off, handoff_of, say, token


def test_human_request_opens_waiting_handoff_with_queue_position(client: TestClient) -> None:
    reply = hand_off(client)
    handoff = handoff_of(client, reply["conversation_id"])
    assert handoff["status"] == "waiting"
    assert handoff["reason"] == "human_request"
    assert handoff["queue_position"] == 1
    assert "1-й в очереди" in reply["reply"]


def test_packet_has_transcript_customer_candidates_and_waiting_since(
    client: TestClient, operator: dict[str, str]
) -> None:
    user = {"id": "u-42", "name": "Ivan Petrov"}
    first = chat(
        client,
        "роутер",
        user=user,
        metadata={"page_url": "https://example.com/help", "plan": "gold"},
    )
    reply = hand_off(client, user=user, conversation_id=first["conversation_id"])
    packet = client.get(f"/v1/handoffs/{reply['handoff_id']}", headers=operator).json()
    assert packet["customer"] == {
        "channel": "web",
        "user_id": "u-42",
        "name": "Ivan Petrov",
        "language": "ru",
        "metadata": {"page_url": "https://example.com/help", "plan": "gold"},
    }
    assert [m["role"] for m in packet["transcript"]] == ["customer", "bot", "customer", "bot"]
    assert packet["transcript"][1]["confidence"] is not None
    assert packet["reason"] == "human_request"
    assert packet["waiting_since"] and packet["created_at"]
    assert packet["candidates"] and {"id", "title", "score"} <= set(packet["candidates"][0])
    # the bot's candidates come from the question it did not understand, not "call a person"
    assert packet["question"] == "роутер"
    assert packet["candidates"][0]["id"].startswith("router")


def test_queue_lists_oldest_waiting_first(client: TestClient, operator: dict[str, str]) -> None:
    first = hand_off(client)
    second = hand_off(client, "хочу поговорить с человеком")
    items = client.get("/v1/handoffs", params={"status": "waiting"}, headers=operator).json()
    ids = [item["id"] for item in items["items"]]
    assert ids == [first["handoff_id"], second["handoff_id"]]
    assert [item["queue_position"] for item in items["items"]] == [1, 2]


def test_queue_needs_operator_or_admin_token(client: TestClient) -> None:
    hand_off(client)
    editor = token(client, "ed", role="editor")
    assert client.get("/v1/handoffs").status_code == 401
    forbidden = client.get("/v1/handoffs", headers=editor)
    assert forbidden.status_code == 403
    assert forbidden.json()["type"] == "/problems/forbidden"
    assert client.get("/v1/handoffs", headers=ADMIN).status_code == 200
    assert client.get("/v1/handoffs", params={"status": "lost"}, headers=ADMIN).status_code == 422
    assert client.get("/v1/handoffs/999999", headers=ADMIN).status_code == 404


def test_second_claim_gets_409(client: TestClient, operator: dict[str, str]) -> None:
    reply = hand_off(client)
    boris = token(client, "boris")
    won = client.post(f"/v1/handoffs/{reply['handoff_id']}/claim", headers=operator)
    assert won.status_code == 200
    assert won.json()["status"] == "assigned"
    assert won.json()["operator_name"] == "anna"
    lost = client.post(f"/v1/handoffs/{reply['handoff_id']}/claim", headers=boris)
    assert lost.status_code == 409
    assert "anna" in lost.json()["detail"]


def test_operator_reply_reaches_transcript_and_bot_stays_silent(
    client: TestClient, operator: dict[str, str]
) -> None:
    reply = hand_off(client)
    hid = reply["handoff_id"]
    client.post(f"/v1/handoffs/{hid}/claim", headers=operator)
    sent = client.post(
        f"/v1/handoffs/{hid}/messages", json={"text": "Здравствуйте!"}, headers=operator
    )
    assert sent.status_code == 201
    assert sent.json()["role"] == "operator" and sent.json()["author"] == "anna"
    silent = say(client, reply, "как оплатить картой?")
    assert silent["status"] == "handoff" and silent["reply"] == ""
    by_article = client.post(
        f"/v1/handoffs/{hid}/messages", json={"article_id": "pay-by-card-ru"}, headers=operator
    )
    assert by_article.status_code == 201
    assert by_article.json()["article_id"] == "pay-by-card-ru"
    assert "карт" in by_article.json()["text"].lower()
    history = client.get(f"/v1/conversations/{reply['conversation_id']}/messages").json()
    assert [m["role"] for m in history["items"]] == [
        "customer",
        "bot",
        "operator",
        "customer",
        "operator",
    ]
    assert history["status"] == "handoff"
    after = client.get(
        f"/v1/conversations/{reply['conversation_id']}/messages",
        params={"after": history["items"][3]["id"]},
    ).json()["items"]
    assert [m["id"] for m in after] == [by_article.json()["id"]]


def test_first_response_time_is_kept(client: TestClient, operator: dict[str, str]) -> None:
    reply = hand_off(client)
    hid = reply["handoff_id"]
    claimed = client.post(f"/v1/handoffs/{hid}/claim", headers=operator).json()
    assert claimed["claimed_at"] and claimed["first_response_at"] is None
    client.post(f"/v1/handoffs/{hid}/messages", json={"text": "Добрый день"}, headers=operator)
    packet = client.get(f"/v1/handoffs/{hid}", headers=operator).json()
    assert packet["first_response_at"] >= packet["claimed_at"] >= packet["created_at"]


def test_operator_message_bad_input_is_refused_and_nothing_stored(
    client: TestClient, operator: dict[str, str]
) -> None:
    reply = hand_off(client)
    hid = reply["handoff_id"]
    url = f"/v1/handoffs/{hid}/messages"
    not_claimed = client.post(url, json={"text": "hi"}, headers=operator)
    assert not_claimed.status_code == 409
    client.post(f"/v1/handoffs/{hid}/claim", headers=operator)
    for body in (
        {},
        {"text": "hi", "article_id": "pay-by-card-ru"},
        {"text": "   "},
        {"text": "x" * 5000},
        {"article_id": "no-such-article"},
        {"text": "hi", "extra": 1},
    ):
        response = client.post(url, json=body, headers=operator)
        assert response.status_code == 422, (body, response.text)
        assert {"type", "title", "status", "detail"} <= set(response.json())
    boris = token(client, "boris")
    assert client.post(url, json={"text": "mine"}, headers=boris).status_code == 403
    assert (
        client.post(
            "/v1/handoffs/999999/messages", json={"text": "x"}, headers=operator
        ).status_code
        == 404
    )
    history = client.get(f"/v1/conversations/{reply['conversation_id']}/messages").json()
    assert [m["role"] for m in history["items"]] == ["customer", "bot"]


def test_release_puts_handoff_back_in_queue(client: TestClient, operator: dict[str, str]) -> None:
    reply = hand_off(client)
    hid = reply["handoff_id"]
    client.post(f"/v1/handoffs/{hid}/claim", headers=operator)
    boris = token(client, "boris")
    assert client.post(f"/v1/handoffs/{hid}/release", headers=boris).status_code == 403
    released = client.post(f"/v1/handoffs/{hid}/release", headers=operator)
    assert released.status_code == 200
    assert released.json()["status"] == "waiting"
    assert released.json()["operator_name"] is None
    assert client.post(f"/v1/handoffs/{hid}/claim", headers=boris).status_code == 200


def test_customer_told_queue_position_again_after_release(
    client: TestClient, operator: dict[str, str]
) -> None:
    reply = hand_off(client)
    hid = reply["handoff_id"]
    assert say(client, reply, "алло")["reply"] == ""  # already told once
    client.post(f"/v1/handoffs/{hid}/claim", headers=operator)
    assert say(client, reply, "вы тут?")["reply"] == ""  # a person has it
    client.post(f"/v1/handoffs/{hid}/release", headers=operator)
    again = say(client, reply, "ау")
    assert again["status"] == "handoff"
    assert "1-й в очереди" in again["reply"]
    assert say(client, reply, "жду")["reply"] == ""


def test_resolve_gives_conversation_back_to_bot(
    client: TestClient, operator: dict[str, str]
) -> None:
    reply = hand_off(client)
    hid = reply["handoff_id"]
    client.post(f"/v1/handoffs/{hid}/claim", headers=operator)
    client.post(f"/v1/handoffs/{hid}/messages", json={"text": "Готово"}, headers=operator)
    resolved = client.post(
        f"/v1/handoffs/{hid}/resolve", json={"note": "explained billing"}, headers=operator
    )
    assert resolved.status_code == 200
    body = resolved.json()
    assert body["status"] == "resolved" and body["resolution_note"] == "explained billing"
    assert body["resolved_at"] >= body["claimed_at"]
    assert client.post(f"/v1/handoffs/{hid}/resolve", headers=operator).status_code == 409
    assert client.post(f"/v1/handoffs/{hid}/claim", headers=operator).status_code == 409
    back = say(client, reply, "как оплатить картой?")
    assert back["status"] == "answered"
    assert back["article"]["id"] == "pay-by-card-ru"
    resolved_list = client.get("/v1/handoffs", params={"status": "resolved"}, headers=operator)
    assert [h["id"] for h in resolved_list.json()["items"]] == [hid]


def test_resolve_with_unknown_article_is_refused(
    client: TestClient, operator: dict[str, str]
) -> None:
    reply = hand_off(client)
    hid = reply["handoff_id"]
    client.post(f"/v1/handoffs/{hid}/claim", headers=operator)
    bad = client.post(f"/v1/handoffs/{hid}/resolve", json={"article_id": "nope"}, headers=operator)
    assert bad.status_code == 422
    assert handoff_of(client, reply["conversation_id"])["status"] == "assigned"


def test_customer_rates_the_resolved_handoff(client: TestClient, operator: dict[str, str]) -> None:
    reply = hand_off(client)
    hid = reply["handoff_id"]
    url = f"/v1/conversations/{reply['conversation_id']}/rating"
    assert client.post(url, json={"score": 5}).status_code == 409  # nothing resolved yet
    client.post(f"/v1/handoffs/{hid}/claim", headers=operator)
    client.post(f"/v1/handoffs/{hid}/resolve", headers=operator)
    assert client.post(url, json={"score": 6}).status_code == 422
    assert client.post(url, json={"score": "five"}).status_code == 422
    rated = client.post(url, json={"score": 4, "comment": "quick"})
    assert rated.status_code == 201
    assert rated.json() == {"handoff_id": hid, "score": 4}
    assert client.get(f"/v1/handoffs/{hid}", headers=operator).json()["rating"] == 4
    assert client.post("/v1/conversations/nope/rating", json={"score": 3}).status_code == 404


def test_talk_to_a_person_button_is_idempotent(
    client: TestClient, operator: dict[str, str]
) -> None:
    first = chat(client, "как оплатить картой", user=new_user())
    url = f"/v1/conversations/{first['conversation_id']}/handoff"
    pressed = client.post(url, json={"text": "Карта не проходит"})
    assert pressed.status_code == 201
    body = pressed.json()
    assert body["status"] == "waiting" and body["created"] is True
    assert body["queue_position"] == 1 and body["reply"]
    again = client.post(url)
    assert again.status_code == 200
    assert again.json()["handoff_id"] == body["handoff_id"] and again.json()["created"] is False
    packet = client.get(f"/v1/handoffs/{body['handoff_id']}", headers=operator).json()
    assert packet["reason"] == "customer_button"
    assert packet["question"] == "Карта не проходит"
    assert packet["candidates"]
    waiting = client.get("/v1/handoffs", headers=operator).json()["items"]
    assert len(waiting) == 1
    assert client.post("/v1/conversations/nope/handoff").status_code == 404
    assert client.post(url, json={"text": ""}).status_code == 422


def test_button_without_text_records_that_it_was_pressed(client: TestClient) -> None:
    first = chat(client, "как оплатить картой", user=new_user())
    pressed = client.post(f"/v1/conversations/{first['conversation_id']}/handoff")
    assert pressed.status_code == 201
    history = client.get(f"/v1/conversations/{first['conversation_id']}/messages").json()
    assert [m["role"] for m in history["items"]] == ["customer", "bot", "system", "bot"]
    assert history["status"] == "handoff"


def test_handoff_and_suggestion_ids_beyond_the_id_range_are_422_not_500(
    client: TestClient,
) -> None:
    # Found by tests/test_openapi_fuzz.py: 32-bit ids on PostgreSQL, 64-bit on SQLite (500).
    for too_big in (2**31, 2**63):
        for path in (
            f"/v1/handoffs/{too_big}",
            f"/v1/handoffs/{too_big}/claim",
            f"/v1/handoffs/{too_big}/resolve",
            f"/v1/kb/suggestions/{too_big}/reject",
        ):
            method = client.get if path.endswith(str(too_big)) else client.post
            assert method(path, headers=ADMIN).status_code == 422, path
    assert client.get(f"/v1/handoffs/{2**31 - 1}", headers=ADMIN).status_code == 404
    events = client.get("/v1/operator/events", params={"after": 2**63}, headers=ADMIN)
    assert events.status_code == 422
