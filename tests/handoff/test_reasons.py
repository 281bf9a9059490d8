"""Why a conversation goes to a person: each reason is recorded on the handoff."""

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import new_user
from tests.factories import chat
from tests.handoff.conftest import handoff_of, say

# With these thresholds every knowledge-base question is "unclear": the bot offers choices.
ALWAYS_CLARIFY = {"answer_threshold": 0.99, "handoff_threshold": 0.0}


def test_low_confidence_hands_off(client_with: Callable[..., Any]) -> None:
    with client_with(handoff_threshold=1.0, answer_threshold=1.0) as client:
        reply = chat(client, "роутер")
        assert reply["status"] == "handoff"
        handoff = handoff_of(client, reply["conversation_id"])
        assert handoff["reason"] == "low_confidence"
        assert handoff["question"] == "роутер"


def test_ignored_clarify_hands_off(client_with: Callable[..., Any]) -> None:
    with client_with(**ALWAYS_CLARIFY) as client:
        user = new_user()
        first = chat(client, "роутер", user=user)
        assert first["status"] == "clarify"
        again = chat(client, "тариф", user=user, conversation_id=first["conversation_id"])
        assert again["status"] == "handoff"
        assert handoff_of(client, first["conversation_id"])["reason"] == "clarify_ignored"


def test_picking_a_clarify_choice_does_not_hand_off(client_with: Callable[..., Any]) -> None:
    with client_with(**ALWAYS_CLARIFY) as client:
        user = new_user()
        first = chat(client, "роутер", user=user)
        picked = chat(client, "1", user=user, conversation_id=first["conversation_id"])
        assert picked["status"] == "answered"


def test_two_misses_in_a_row_hand_off_as_repeated_failure(client_with: Callable[..., Any]) -> None:
    with client_with(**ALWAYS_CLARIFY) as client:
        user = new_user()
        first = chat(client, "роутер", user=user)
        assert first["status"] == "clarify"
        thanks = chat(client, "спасибо", user=user, conversation_id=first["conversation_id"])
        assert thanks["status"] == "smalltalk"  # small talk neither counts nor resets
        second = chat(client, "тариф", user=user, conversation_id=first["conversation_id"])
        assert second["status"] == "handoff"
        assert handoff_of(client, first["conversation_id"])["reason"] == "repeated_failure"


def test_an_answer_between_misses_resets_the_streak(client_with: Callable[..., Any]) -> None:
    with client_with(**ALWAYS_CLARIFY) as client:
        user = new_user()
        first = chat(client, "роутер", user=user)
        cid = first["conversation_id"]
        assert chat(client, "1", user=user, conversation_id=cid)["status"] == "answered"
        assert chat(client, "тариф", user=user, conversation_id=cid)["status"] == "clarify"


def test_same_question_after_thumbs_down_hands_off(client: TestClient) -> None:
    user = new_user()
    first = chat(client, "Как оплатить картой?", user=user)
    assert first["status"] == "answered"
    client.post(f"/v1/messages/{first['message_id']}/feedback", json={"value": -1})
    again = chat(client, "как оплатить картой", user=user, conversation_id=first["conversation_id"])
    assert again["status"] == "handoff"
    assert handoff_of(client, first["conversation_id"])["reason"] == "repeated_failure"


def test_same_question_after_thumbs_up_is_answered_again(client: TestClient) -> None:
    user = new_user()
    first = chat(client, "Как оплатить картой?", user=user)
    client.post(f"/v1/messages/{first['message_id']}/feedback", json={"value": 1})
    again = chat(client, "как оплатить картой", user=user, conversation_id=first["conversation_id"])
    assert again["status"] == "answered"


def test_angry_russian_customer_goes_to_a_person(client: TestClient) -> None:
    for text in ("вы издеваетесь", "третий день нет интернета!!!"):
        reply = chat(client, text)
        assert reply["status"] == "handoff", text
        assert handoff_of(client, reply["conversation_id"])["reason"] == "negative_sentiment"
        assert "Извините" in reply["reply"]


def test_angry_english_customer_gets_the_answer_and_a_person(client: TestClient) -> None:
    reply = chat(client, "this is ridiculous, how do I pay by card")
    assert reply["status"] == "handoff"
    assert handoff_of(client, reply["conversation_id"])["reason"] == "negative_sentiment"
    assert "sorry" in reply["reply"].lower()
    assert "Mastercard" in reply["reply"]  # the bot still gives what it knows


def test_calm_question_is_not_negative(client: TestClient) -> None:
    assert chat(client, "How do I pay by card?")["status"] == "answered"


def test_article_that_needs_a_person_is_recorded(client: TestClient) -> None:
    reply = chat(client, "Как расторгнуть договор?")
    assert reply["status"] == "handoff"
    handoff = handoff_of(client, reply["conversation_id"])
    assert handoff["reason"] == "article_requires_person"
    assert handoff["candidates"][0]["id"] == "contract-termination-ru"


def test_human_request_intent_is_recorded(client: TestClient) -> None:
    reply = chat(client, "позовите оператора пожалуйста")
    assert handoff_of(client, reply["conversation_id"])["reason"] == "human_request"


def test_customer_messages_while_waiting_are_not_answered_by_bot(client: TestClient) -> None:
    reply = chat(client, "вы издеваетесь", user=(user := new_user()))
    reply["user"] = user
    later = say(client, reply, "как оплатить картой")
    assert later["status"] == "handoff" and later["reply"] == ""
