"""Analytics over live traffic built through the public API: chat, feedback, the handoff queue."""

import json
import logging
from datetime import timedelta

from fastapi.testclient import TestClient

from app.db import utcnow
from tests.analytics.conftest import ADMIN
from tests.conftest import new_user
from tests.factories import chat, make_token

ANSWERED = "Как оплатить картой?"
UNKNOWN = "квантовая телепортация холодильника"


def run_queue(client: TestClient, conversation_id: str, start) -> None:  # type: ignore[no-untyped-def]
    """An operator claims at +10 s, answers at +30 s, resolves at +90 s; the customer rates 5."""
    operator = make_token(client, "operator")
    items = client.get("/v1/handoffs", headers=operator).json()["items"]
    handoff_id = next(i["id"] for i in items if i["conversation_id"] == conversation_id)
    for seconds, call in (
        (10, lambda: client.post(f"/v1/handoffs/{handoff_id}/claim", headers=operator)),
        (
            30,
            lambda: client.post(
                f"/v1/handoffs/{handoff_id}/messages", json={"text": "Hello!"}, headers=operator
            ),
        ),
        (90, lambda: client.post(f"/v1/handoffs/{handoff_id}/resolve", headers=operator)),
    ):
        client.app.state.clock = lambda s=seconds: start + timedelta(seconds=s)  # type: ignore[attr-defined]
        response = call()
        assert response.status_code in (200, 201), response.text
    rated = client.post(f"/v1/conversations/{conversation_id}/rating", json={"score": 5})
    assert rated.status_code == 201, rated.text


def test_chat_feedback_and_handoff_show_up_in_the_summary(client: TestClient) -> None:
    start = utcnow()
    client.app.state.clock = lambda: start  # type: ignore[attr-defined]
    answered = chat(client, ANSWERED)
    assert answered["status"] == "answered"
    assert (
        client.post(
            f"/v1/messages/{answered['message_id']}/feedback", json={"value": 1}
        ).status_code
        == 201
    )
    missed = chat(client, UNKNOWN)
    assert missed["status"] == "handoff"
    run_queue(client, missed["conversation_id"], start)
    assert chat(client, "привет")["status"] == "smalltalk"

    client.app.state.clock = lambda: start + timedelta(minutes=5)  # type: ignore[attr-defined]
    body = client.get("/v1/analytics/summary", headers=ADMIN).json()
    assert body["conversations"] == 2
    assert body["smalltalk_only_conversations"] == 1
    assert body["deflection_rate"] == 0.5
    assert body["handoff_rate"] == 0.5
    assert body["automated_resolution_rate"] == 0.5  # the 👍 settles it at once
    assert body["handoffs_by_reason"] == {"low_confidence": 1}
    assert body["first_human_response_seconds"] == {"p50": 30.0, "p90": 30.0}
    assert body["resolution_seconds"] == {"p50": 90.0, "p90": 90.0}
    assert body["csat"] == {
        "thumbs_up": 1,
        "thumbs_down": 0,
        "helpful_share": 1.0,
        "ratings_average": 5.0,
        "ratings_count": 1,
    }
    assert body["savings"]["currency"] == "USD"
    assert body["savings"]["hours"] == round(8 / 60, 2)


def test_savings_use_the_configured_minutes_price_and_currency(open_client) -> None:  # type: ignore[no-untyped-def]
    with open_client(
        minutes_per_ticket=30, price_per_automated_resolution=1.5, currency="EUR"
    ) as client:
        answered = chat(client, ANSWERED)
        client.post(f"/v1/messages/{answered['message_id']}/feedback", json={"value": 1})
        body = client.get("/v1/analytics/summary", headers=ADMIN).json()
    assert body["automated_resolutions"] == 1
    assert body["savings"] == {"hours": 0.5, "money": 1.5, "currency": "EUR"}


def test_articles_show_served_helpful_share_and_handoffs_right_after(client: TestClient) -> None:
    first = chat(client, ANSWERED)
    client.post(f"/v1/messages/{first['message_id']}/feedback", json={"value": 1})
    user = new_user()
    second = chat(client, ANSWERED, user=user)
    article_id = second["article"]["id"]
    client.post(f"/v1/messages/{second['message_id']}/feedback", json={"value": -1})
    person = chat(
        client, "позовите оператора", user=user, conversation_id=second["conversation_id"]
    )
    assert person["status"] == "handoff"
    items = client.get("/v1/analytics/articles", headers=ADMIN).json()["items"]
    row = next(item for item in items if item["article_id"] == article_id)
    assert row == {
        "article_id": article_id,
        "title": second["article"]["title"],
        "served": 2,
        "helpful_share": 0.5,
        "thumbs_up": 1,
        "thumbs_down": 1,
        "handoffs_after": 1,
    }


def test_talk_to_a_person_button_counts_as_a_handoff_after_the_answer(client: TestClient) -> None:
    answered = chat(client, ANSWERED)
    pressed = client.post(f"/v1/conversations/{answered['conversation_id']}/handoff")
    assert pressed.status_code == 201
    items = client.get("/v1/analytics/articles", headers=ADMIN).json()["items"]
    assert items[0]["handoffs_after"] == 1
    body = client.get("/v1/analytics/summary", headers=ADMIN).json()
    assert body["deflection_rate"] == 0.0
    assert body["handoffs_by_reason"] == {"customer_button": 1}


def test_clarify_choice_taken_through_the_chat_api(client: TestClient) -> None:
    user = new_user()
    clarify = chat(client, "роутер", user=user)
    assert clarify["status"] == "clarify"
    picked = chat(
        client,
        "1",
        user=user,
        conversation_id=clarify["conversation_id"],
    )
    assert picked["status"] == "answered"
    body = client.get("/v1/analytics/summary", headers=ADMIN).json()
    assert body["clarify_replies"] == 1
    assert body["clarify_choice_taken_rate"] == 1.0


def test_operators_and_editors_may_read_analytics_without_token_nobody(client: TestClient) -> None:
    assert client.get("/v1/analytics/summary").status_code == 401
    for role in ("operator", "editor"):
        headers = make_token(client, role)
        for path in ("summary", "articles", "gaps", "timeseries?metric=conversations"):
            assert client.get(f"/v1/analytics/{path}", headers=headers).status_code == 200


def test_bad_parameters_get_problem_json_not_500(client: TestClient) -> None:
    cases = [
        "/v1/analytics/summary?from=yesterday",
        "/v1/analytics/summary?from=2025-02-01&to=2025-01-01",
        "/v1/analytics/summary?to=2025-13-01",
        "/v1/analytics/summary?format=xml",
        "/v1/analytics/timeseries?metric=happiness",
        "/v1/analytics/timeseries",
        "/v1/analytics/timeseries?metric=conversations&interval=week",
        "/v1/analytics/timeseries?metric=conversations&interval=hour&from=2020-01-01&to=2025-01-01",
        "/v1/analytics/gaps?limit=0",
    ]
    for url in cases:
        response = client.get(url, headers=ADMIN)
        assert response.status_code == 422, (url, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["detail"]


def test_every_bot_decision_and_every_resolution_writes_one_json_outcome_line(
    client: TestClient, caplog
) -> None:  # type: ignore[no-untyped-def]
    start = utcnow()
    client.app.state.clock = lambda: start  # type: ignore[attr-defined]
    with caplog.at_level(logging.INFO, logger="answerdesk.outcomes"):
        answered = chat(client, ANSWERED, channel="web")
        missed = chat(client, UNKNOWN)
        run_queue(client, missed["conversation_id"], start)
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "answerdesk.outcomes"]
    for line in lines:
        assert {"conversation", "channel", "outcome", "reason", "confidence"} <= set(line)
    by_conversation = {}
    for line in lines:
        by_conversation.setdefault(line["conversation"], []).append(line["outcome"])
    assert by_conversation[answered["conversation_id"]] == ["answered"]
    assert by_conversation[missed["conversation_id"]] == ["handoff", "resolved_by_person"]
    resolved = next(line for line in lines if line["outcome"] == "resolved_by_person")
    assert resolved["channel"] == "web"
    assert resolved["reason"] == "low_confidence"
    assert resolved["seconds"] == 90.0
