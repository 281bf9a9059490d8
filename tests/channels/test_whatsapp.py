"""WhatsApp Cloud API: the handshake, signatures, text replies and reply buttons."""

from fastapi.testclient import TestClient

from tests.channels.conftest import WA_PHONE_ID, WA_TOKEN, WA_VERIFY, deliver
from tests.channels.fake_platform import FakePlatform
from tests.channels.payloads import (
    conversations,
    count_rows,
    graph_post,
    next_id,
    sign,
    wa_body,
    wa_button_reply,
    wa_text,
)

NOTHING = {"conversations": 0, "messages": 0, "outbox": 0}
SEND = f"/v21.0/{WA_PHONE_ID}/messages"


def test_verification_handshake_echoes_the_challenge(channels: TestClient) -> None:
    response = channels.get(
        "/webhooks/whatsapp",
        params={"hub.mode": "subscribe", "hub.verify_token": WA_VERIFY, "hub.challenge": "42"},
    )
    assert (response.status_code, response.text) == (200, "42")
    wrong = channels.get(
        "/webhooks/whatsapp",
        params={"hub.mode": "subscribe", "hub.verify_token": "nope", "hub.challenge": "42"},
    )
    assert wrong.status_code == 403


def test_text_message_is_answered_through_the_messages_endpoint(
    channels: TestClient, platform: FakePlatform
) -> None:
    number = f"7900{next_id()}"
    response = graph_post(channels, "whatsapp", wa_body(wa_text(number, "how do I pay by card")))
    assert response.status_code == 200
    deliver(channels)
    [sent] = platform.sent("/messages")
    assert sent.path == SEND
    assert sent.headers["authorization"] == f"Bearer {WA_TOKEN}"
    assert sent.body["messaging_product"] == "whatsapp"
    assert sent.body["to"] == number
    assert sent.body["type"] == "text"
    assert "Mir, Visa and Mastercard" in sent.body["text"]["body"]
    [conversation] = conversations(channels, "whatsapp")
    assert conversation.user_name == "Ann Lee"


def test_choices_arrive_as_reply_buttons_and_a_tap_answers(
    clarifying: TestClient, platform: FakePlatform
) -> None:
    number = f"7900{next_id()}"
    graph_post(clarifying, "whatsapp", wa_body(wa_text(number, "how do I pay by card")))
    deliver(clarifying)
    offer = platform.sent("/messages")[-1].body
    assert offer["type"] == "interactive"
    interactive = offer["interactive"]
    assert interactive["type"] == "button"
    assert len(interactive["body"]["text"]) <= 1024
    buttons = interactive["action"]["buttons"]
    assert 1 <= len(buttons) <= 3
    titles = [b["reply"]["title"] for b in buttons]
    assert all(len(t) <= 20 for t in titles) and len(set(titles)) == len(titles)
    chosen = next(b["reply"] for b in buttons if b["reply"]["id"] == "pay-by-card-en")

    graph_post(
        clarifying, "whatsapp", wa_body(wa_button_reply(number, chosen["id"], chosen["title"]))
    )
    deliver(clarifying)
    answer = platform.sent("/messages")[-1].body
    assert answer["type"] == "text"
    assert "Mir, Visa and Mastercard" in answer["text"]["body"]


def test_repeated_message_id_is_processed_once(
    channels: TestClient, platform: FakePlatform
) -> None:
    body = wa_body(wa_text(f"7900{next_id()}", "how do I pay by card", wamid="wamid.same"))
    for _ in range(3):
        assert graph_post(channels, "whatsapp", body).status_code == 200
    assert count_rows(channels)["messages"] == 2
    deliver(channels)
    assert len(platform.sent("/messages")) == 1


def test_forged_or_missing_signature_is_refused_and_stores_nothing(channels: TestClient) -> None:
    body = wa_body(wa_text("79001", "hello"))
    forged = sign(b"{}", "whatsapp-app-secret")
    assert graph_post(channels, "whatsapp", body, signature=forged).status_code == 403
    assert graph_post(channels, "whatsapp", body, signature="sha256=00").status_code == 403
    assert graph_post(channels, "whatsapp", body, signature=None).status_code == 401
    assert count_rows(channels) == NOTHING


def test_status_updates_and_malformed_payloads_are_acknowledged_and_ignored(
    channels: TestClient,
) -> None:
    statuses = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "statuses": [
                                {"id": "wamid.1", "status": "delivered", "recipient_id": "79001"}
                            ]
                        },
                    }
                ]
            }
        ],
    }
    graph_post(channels, "whatsapp", statuses)
    for raw in (
        b"[1, 2]",
        b'{"object": "whatsapp_business_account", "entry": [{"changes": 3}]}',
        b'{"object": "whatsapp_business_account", "entry": [{"changes": [{"field": '
        b'"messages", "value": {"messages": [{"id": "w", "type": "text"}]}}]}]}',
    ):
        assert graph_post(channels, "whatsapp", None, raw=raw).status_code == 200, raw
    assert count_rows(channels) == NOTHING


def test_channel_without_settings_answers_404(app_factory) -> None:  # type: ignore[no-untyped-def]
    client = app_factory(whatsapp_phone_number_id=None)
    assert graph_post(client, "whatsapp", wa_body(wa_text("79001", "hi"))).status_code == 404
