"""VK Callback API: confirmation, the secret field, "ok" answers, messages.send replies."""

import json

from fastapi.testclient import TestClient

from tests.channels.conftest import VK_CONFIRMATION, VK_TOKEN, deliver
from tests.channels.fake_platform import FakePlatform
from tests.channels.payloads import conversations, count_rows, next_id, vk_message

NOTHING = {"conversations": 0, "messages": 0, "outbox": 0}


def test_confirmation_returns_the_confirmation_string(channels: TestClient) -> None:
    response = channels.post("/webhooks/vk", json={"type": "confirmation", "group_id": 1})
    assert (response.status_code, response.text) == (200, VK_CONFIRMATION)


def test_text_message_gets_ok_and_an_answer_through_messages_send(
    channels: TestClient, platform: FakePlatform
) -> None:
    user = next_id()
    response = channels.post("/webhooks/vk", json=vk_message(user, "how do I pay by card"))
    assert (response.status_code, response.text) == (200, "ok")
    deliver(channels)
    [sent] = platform.sent("/messages.send")
    assert sent.path == "/method/messages.send"
    assert sent.body["access_token"] == VK_TOKEN
    assert sent.body["v"] == "5.199"
    assert sent.body["peer_id"] == str(user)
    assert int(sent.body["random_id"]) > 0
    assert "Mir, Visa and Mastercard" in sent.body["message"]
    [conversation] = conversations(channels, "vk")
    assert conversation.language == "en"


def test_choices_arrive_as_a_keyboard_and_a_tap_answers(
    clarifying: TestClient, platform: FakePlatform
) -> None:
    user = next_id()
    clarifying.post("/webhooks/vk", json=vk_message(user, "how do I pay by card"))
    deliver(clarifying)
    keyboard = json.loads(platform.sent("/messages.send")[-1].body["keyboard"])
    assert keyboard["inline"] is True
    buttons = [row[0]["action"] for row in keyboard["buttons"]]
    assert len(buttons) == 3
    chosen = next(b for b in buttons if json.loads(b["payload"]) == {"choice": "pay-by-card-en"})
    assert len(chosen["payload"]) <= 255 and len(chosen["label"]) <= 40

    tap = vk_message(user, chosen["label"], payload=chosen["payload"])
    assert clarifying.post("/webhooks/vk", json=tap).text == "ok"
    deliver(clarifying)
    answer = platform.sent("/messages.send")[-1].body
    assert "Mir, Visa and Mastercard" in answer["message"]
    assert "keyboard" not in answer


def test_repeated_message_is_processed_once(channels: TestClient, platform: FakePlatform) -> None:
    event = vk_message(next_id(), "how do I pay by card", message_id=777)
    for _ in range(3):
        assert channels.post("/webhooks/vk", json=event).text == "ok"
    assert count_rows(channels)["messages"] == 2
    deliver(channels)
    assert len(platform.sent("/messages.send")) == 1


def test_wrong_secret_gets_403_and_stores_nothing(channels: TestClient) -> None:
    event = vk_message(next_id(), "hello", secret="guess")
    assert channels.post("/webhooks/vk", json=event).status_code == 403
    assert count_rows(channels) == NOTHING


def test_missing_secret_gets_401_and_stores_nothing(channels: TestClient) -> None:
    event = vk_message(next_id(), "hello", secret=None)
    assert channels.post("/webhooks/vk", json=event).status_code == 401
    assert channels.post("/webhooks/vk", content=b"not json").status_code == 401
    assert count_rows(channels) == NOTHING


def test_unexpected_events_with_the_secret_get_ok_and_change_nothing(channels: TestClient) -> None:
    for event in (
        {"type": "wall_post_new", "object": {}, "secret": "vk-callback-secret"},
        {"type": "message_new", "object": 5, "secret": "vk-callback-secret"},
        {"type": "message_new", "object": {"message": {"id": 1}}, "secret": "vk-callback-secret"},
    ):
        response = channels.post("/webhooks/vk", json=event)
        assert (response.status_code, response.text) == (200, "ok")
    assert count_rows(channels) == NOTHING


def test_vk_error_answers_are_retried_or_given_up(
    channels: TestClient, platform: FakePlatform
) -> None:
    channels.post("/webhooks/vk", json=vk_message(next_id(), "how do I pay by card"))
    platform.fail(1, status=200, body={"error": {"error_code": 10, "error_msg": "Internal"}})
    assert deliver(channels) == 0
    from datetime import timedelta

    from app.db import utcnow

    assert deliver(channels, now=utcnow() + timedelta(hours=1)) == 1
    random_ids = {r.body["random_id"] for r in platform.all()}
    assert len(random_ids) == 1  # the retry reused it, so VK would drop a duplicate


def test_channel_without_settings_answers_404(app_factory) -> None:  # type: ignore[no-untyped-def]
    client = app_factory(vk_secret=None)
    assert client.post("/webhooks/vk", json={"type": "confirmation"}).status_code == 404
