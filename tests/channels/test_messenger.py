"""Facebook Messenger: the hub handshake, X-Hub-Signature-256, the Send API, quick replies."""

from fastapi.testclient import TestClient

from tests.channels.conftest import MS_PAGE_TOKEN, MS_VERIFY, deliver
from tests.channels.fake_platform import FakePlatform
from tests.channels.payloads import (
    conversations,
    count_rows,
    graph_post,
    ms_body,
    ms_text,
    next_id,
    sign,
)

NOTHING = {"conversations": 0, "messages": 0, "outbox": 0}


def test_verification_handshake_echoes_the_challenge(channels: TestClient) -> None:
    response = channels.get(
        "/webhooks/messenger",
        params={
            "hub.mode": "subscribe",
            "hub.verify_token": MS_VERIFY,
            "hub.challenge": "1158201444",
        },
    )
    assert response.status_code == 200
    assert response.text == "1158201444"


def test_verification_with_wrong_token_gets_403(channels: TestClient) -> None:
    response = channels.get(
        "/webhooks/messenger",
        params={"hub.mode": "subscribe", "hub.verify_token": "guess", "hub.challenge": "1"},
    )
    assert response.status_code == 403


def test_text_message_is_answered_through_the_send_api(
    channels: TestClient, platform: FakePlatform
) -> None:
    psid = f"psid-{next_id()}"
    response = graph_post(channels, "messenger", ms_body(ms_text(psid, "how do I pay by card")))
    assert response.status_code == 200
    assert response.text == "EVENT_RECEIVED"
    deliver(channels)
    [sent] = platform.sent("/me/messages")
    assert sent.path == "/v21.0/me/messages"
    assert sent.headers["authorization"] == f"Bearer {MS_PAGE_TOKEN}"
    assert sent.body["recipient"] == {"id": psid}
    assert sent.body["messaging_type"] == "RESPONSE"
    assert "Mir, Visa and Mastercard" in sent.body["message"]["text"]
    assert len(sent.body["message"]["text"]) <= 2000


def test_choices_arrive_as_quick_replies_and_a_tap_answers(
    clarifying: TestClient, platform: FakePlatform
) -> None:
    psid = f"psid-{next_id()}"
    graph_post(clarifying, "messenger", ms_body(ms_text(psid, "how do I pay by card")))
    deliver(clarifying)
    quick_replies = platform.sent("/me/messages")[-1].body["message"]["quick_replies"]
    assert len(quick_replies) == 3
    assert all(q["content_type"] == "text" and len(q["title"]) <= 20 for q in quick_replies)
    tapped = next(q for q in quick_replies if q["payload"] == "pay-by-card-en")

    tap = ms_text(psid, tapped["title"], quick_reply=tapped["payload"])
    graph_post(clarifying, "messenger", ms_body(tap))
    deliver(clarifying)
    answer = platform.sent("/me/messages")[-1].body["message"]
    assert "Mir, Visa and Mastercard" in answer["text"]
    assert "quick_replies" not in answer
    assert len(conversations(clarifying, "messenger")) == 1


def test_repeated_message_id_is_processed_once(
    channels: TestClient, platform: FakePlatform
) -> None:
    event = ms_text(f"psid-{next_id()}", "how do I pay by card", mid="m_repeated")
    for _ in range(3):
        assert graph_post(channels, "messenger", ms_body(event)).status_code == 200
    assert count_rows(channels)["messages"] == 2
    deliver(channels)
    assert len(platform.sent("/me/messages")) == 1


def test_forged_signature_gets_403_and_stores_nothing(channels: TestClient) -> None:
    body = ms_body(ms_text("psid-1", "hello"))
    forged = sign(b"another body", "messenger-app-secret")
    assert graph_post(channels, "messenger", body, signature=forged).status_code == 403
    wrong_key = sign(b"x", "not-the-app-secret")
    assert graph_post(channels, "messenger", body, signature=wrong_key).status_code == 403
    assert count_rows(channels) == NOTHING


def test_unsigned_post_gets_401_and_stores_nothing(channels: TestClient) -> None:
    body = ms_body(ms_text("psid-1", "hello"))
    assert graph_post(channels, "messenger", body, signature=None).status_code == 401
    assert count_rows(channels) == NOTHING


def test_malformed_payloads_are_acknowledged_and_ignored(channels: TestClient) -> None:
    for raw in (
        b"not json",
        b"{}",
        b'{"object": "page", "entry": 5}',
        b'{"object": "page", "entry": [{"messaging": [{"sender": 1}]}]}',
        b'{"object": "page", "entry": [{"messaging": [{"sender": {"id": "1"}, '
        b'"message": {"mid": "m", "is_echo": true, "text": "echo"}}]}]}',
    ):
        response = graph_post(channels, "messenger", None, raw=raw)
        assert response.status_code == 200, raw
        assert response.text == "EVENT_RECEIVED"
    assert count_rows(channels) == NOTHING


def test_channel_without_settings_answers_404(app_factory) -> None:  # type: ignore[no-untyped-def]
    client = app_factory(messenger_page_access_token=None)
    assert graph_post(client, "messenger", ms_body(ms_text("p", "hi"))).status_code == 404
    handshake = client.get(
        "/webhooks/messenger",
        params={"hub.mode": "subscribe", "hub.verify_token": MS_VERIFY, "hub.challenge": "1"},
    )
    assert handshake.status_code == 404
