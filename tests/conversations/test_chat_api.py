"""The chat API over HTTP with the demo knowledge base: decisions, storage, bad input."""

import json

from fastapi.testclient import TestClient
from sqlalchemy import create_engine
from sqlalchemy import text as text_sql

from tests.conftest import count_rows, new_user
from tests.factories import chat


def test_clear_question_is_answered_with_article_text(client: TestClient) -> None:
    reply = chat(client, "Как оплатить интернет картой?")
    assert reply["status"] == "answered"
    assert reply["article"]["id"] == "pay-by-card-ru"
    assert "карт" in reply["reply"].lower()
    assert 0.5 <= reply["confidence"] <= 1
    assert set(reply) >= {"conversation_id", "message_id", "suggestions"}


def test_english_question_gets_english_article(client: TestClient) -> None:
    reply = chat(client, "I forgot the password to my personal account")
    assert reply["status"] == "answered"
    assert reply["article"]["id"] == "forgot-account-password-en"


def test_wrong_keyboard_layout_is_understood(client: TestClient) -> None:
    reply = chat(client, "rfr jgkfnbnm rfhnjq")  # "как оплатить картой" typed on QWERTY
    assert reply["article"]["id"] == "pay-by-card-ru"


def test_translit_is_understood(client: TestClient) -> None:
    reply = chat(client, "kak oplatit internet kartoi")
    assert reply["article"]["id"] == "pay-by-card-ru"


def test_out_of_scope_question_is_not_answered(client: TestClient) -> None:
    reply = chat(client, "how do I cook pasta carbonara")
    assert reply["status"] in ("handoff", "clarify")
    assert reply["article"] is None


def test_greeting_is_small_talk(client: TestClient) -> None:
    reply = chat(client, "привет!")
    assert reply["status"] == "smalltalk"
    assert reply["reply"]


def test_small_talk_with_words_the_intents_lack_is_still_small_talk(client: TestClient) -> None:
    for message in ("thanks a bunch", "приветствую вас"):
        assert chat(client, message)["status"] == "smalltalk", message


def test_a_no_about_a_knowledge_base_topic_is_a_question_not_small_talk(
    client: TestClient,
) -> None:
    # "нет интернета" starts like a "no" but is about the service; typed in the wrong layout.
    for message in ("ytn bynthytnf", "net interneta sovsem"):
        reply = chat(client, message)
        assert reply["status"] != "smalltalk", message
        assert "no-internet-ru" in [s["id"] for s in reply["suggestions"]], message


def test_human_request_hands_off_and_bot_goes_silent(client: TestClient) -> None:
    user = new_user()
    first = chat(client, "позовите оператора пожалуйста", user=user)
    assert first["status"] == "handoff"
    later = chat(
        client, "Как оплатить картой?", user=user, conversation_id=first["conversation_id"]
    )
    assert later["status"] == "handoff"
    assert later["reply"] == ""
    history = client.get(f"/v1/conversations/{first['conversation_id']}/messages").json()
    assert history["status"] == "handoff"
    assert [m["role"] for m in history["items"]] == ["customer", "bot", "customer"]


def test_article_that_needs_a_person_hands_off(client: TestClient) -> None:
    reply = chat(client, "Как расторгнуть договор?")
    assert reply["status"] == "handoff"
    assert reply["suggestions"][0]["id"] == "contract-termination-ru"


def test_conversation_continues_with_its_id(client: TestClient) -> None:
    user = new_user()
    first = chat(client, "привет", user=user)
    second = chat(
        client, "как оплатить картой", user=user, conversation_id=first["conversation_id"]
    )
    assert second["conversation_id"] == first["conversation_id"]
    assert second["message_id"] > first["message_id"]


def test_clarify_choice_can_be_picked_by_number(client: TestClient) -> None:
    user = new_user()
    reply = chat(client, "тариф", user=user)
    if reply["status"] != "clarify":  # the engine was sure enough to answer; nothing to pick
        assert reply["status"] == "answered"
        return
    picked = chat(client, "2", user=user, conversation_id=reply["conversation_id"])
    assert picked["status"] == "answered"
    assert picked["article"]["id"] == reply["suggestions"][1]["id"]


def test_choice_field_answers_with_that_article(client: TestClient) -> None:
    reply = chat(client, "whatever", choice="pay-by-card-en")
    assert reply["status"] == "answered"
    assert reply["article"]["id"] == "pay-by-card-en"


def test_debug_explains_the_decision_only_when_asked(client: TestClient) -> None:
    plain = chat(client, "how do I pay by card")
    assert "debug" not in plain
    response = client.post(
        "/v1/chat?debug=true",
        json={"channel": "web", "user": new_user(), "text": "ghbdtn, rfr jgkfnbnm rfhnjq"},
    )
    debug = response.json()["debug"]
    assert debug["candidates"][0]["terms"]
    assert debug["conversions"]
    assert "normalized" in debug and "features" in debug


def test_every_message_and_reply_is_stored_with_decision(client: TestClient) -> None:
    reply = chat(client, "как оплатить картой")
    items = client.get(f"/v1/conversations/{reply['conversation_id']}/messages").json()["items"]
    assert [m["role"] for m in items] == ["customer", "bot"]
    assert items[1]["status"] == "answered"
    assert items[1]["confidence"] == reply["confidence"]
    after = client.get(
        f"/v1/conversations/{reply['conversation_id']}/messages", params={"after": items[0]["id"]}
    ).json()["items"]
    assert [m["id"] for m in after] == [items[1]["id"]]


def test_a_turn_is_stored_exactly_as_sent_and_decided(
    client: TestClient, database_url: str
) -> None:
    # Characters that JSON, SQL and PostgreSQL's array literals each need escaped.
    text = 'как "оплатить" картой? \\ C:\\path {"a": [1, 2]} \'ёлка\' 😀\tконец'
    response = client.post(
        "/v1/chat",
        params={"debug": "true"},
        json={"channel": "web", "user": new_user(), "text": text},
    )
    assert response.status_code == 200, response.text
    reply = response.json()
    items = client.get(f"/v1/conversations/{reply['conversation_id']}/messages").json()["items"]
    customer, bot = items
    assert customer["text"] == text
    assert (bot["id"], bot["text"], bot["status"]) == (
        reply["message_id"],
        reply["reply"],
        "answered",
    )
    assert bot["article_id"] == reply["article"]["id"]
    assert bot["confidence"] == reply["confidence"]
    assert customer["id"] < bot["id"] and customer["created_at"] == bot["created_at"]
    assert customer["created_at"].endswith(("+00:00", "Z"))
    engine = create_engine(database_url)
    with engine.connect() as connection:
        details, language, author = connection.execute(
            text_sql("SELECT details, language, author FROM messages WHERE id = :id"),
            {"id": bot["id"]},
        ).one()
    engine.dispose()
    stored = json.loads(details) if isinstance(details, str) else details
    assert stored == reply["debug"]
    assert (language, author) == ("ru", None)


def test_feedback_on_an_answer_is_stored(client: TestClient) -> None:
    reply = chat(client, "как оплатить картой")
    response = client.post(f"/v1/messages/{reply['message_id']}/feedback", json={"value": -1})
    assert response.status_code == 201
    assert client.post("/v1/messages/999999/feedback", json={"value": 1}).status_code == 404
    assert (
        client.post(f"/v1/messages/{reply['message_id']}/feedback", json={"value": 5}).status_code
        == 422
    )


def test_bad_input_gets_4xx_problem_and_loses_nothing(
    client: TestClient, database_url: str
) -> None:
    chat(client, "как оплатить картой")
    before = count_rows(database_url, "messages")
    user = new_user()
    cases = [
        {"channel": "web", "user": user, "text": ""},
        {"channel": "web", "user": user, "text": "   \n\t "},
        {"channel": "web", "user": user, "text": "a" * 5000},
        {"channel": "web", "user": user, "text": 42},
        {"channel": "web", "user": "not-an-object", "text": "hi"},
        {"channel": "web", "text": "hi"},
        {"channel": "web", "user": user, "text": "hi", "conversation_id": "does-not-exist"},
    ]
    for body in cases:
        response = client.post("/v1/chat", json=body)
        assert 400 <= response.status_code < 500, (body, response.text)
        problem = response.json()
        assert {"type", "title", "status", "detail"} <= set(problem)
    malformed = client.post(
        "/v1/chat", content=b'{"text": "hi", ', headers={"content-type": "application/json"}
    )
    assert malformed.status_code == 422
    huge = client.post(
        "/v1/chat",
        content=b'{"channel":"web","user":{"id":"u"},"text":"' + b"a" * 1_048_576 + b'"}',
        headers={"content-type": "application/json"},
    )
    assert huge.status_code in (413, 422)
    assert count_rows(database_url, "messages") == before


def test_someone_elses_conversation_is_refused(client: TestClient) -> None:
    first = chat(client, "привет")
    response = client.post(
        "/v1/chat",
        json={
            "channel": "web",
            "user": new_user(),
            "text": "hi",
            "conversation_id": first["conversation_id"],
        },
    )
    assert response.status_code == 409


def test_picking_an_article_that_needs_a_person_hands_off(client: TestClient) -> None:
    reply = chat(client, "whatever", choice="contract-termination-ru")
    assert reply["status"] == "handoff"
    assert reply["article"] is None


def test_nul_character_is_422_on_either_database_and_nothing_is_stored(
    client: TestClient, database_url: str
) -> None:
    # Found by tests/test_openapi_fuzz.py: PostgreSQL cannot store U+0000 in text (500).
    before = count_rows(database_url, "messages")
    body = {"channel": "web", "user": new_user(), "text": "hi\x00there"}
    refused = [
        client.post("/v1/chat", json=body),
        client.post("/v1/chat", json={**body, "text": "hi", "metadata": {"page": "\x00"}}),
        client.get("/v1/conversations/%00/messages"),
        client.get("/v1/conversations/abc/messages", params={"after": "1", "x": "\x00"}),
    ]
    for response in refused:
        assert response.status_code == 422, response.text
        assert "NUL" in response.json()["detail"]
    assert count_rows(database_url, "messages") == before


def test_ids_beyond_the_id_range_are_422_not_500(client: TestClient) -> None:
    # Found by tests/test_openapi_fuzz.py: SQLite cannot compare with an int over 64 bits.
    conversation_id = chat(client, "привет")["conversation_id"]
    too_big = 2**63
    feedback = client.post(f"/v1/messages/{too_big}/feedback", json={"value": 1})
    messages = client.get(f"/v1/conversations/{conversation_id}/messages?after={too_big}")
    assert (feedback.status_code, messages.status_code) == (422, 422)
    assert client.post(f"/v1/messages/{too_big - 1}/feedback", json={"value": 1}).status_code == 404
