"""Content gaps: unanswered questions clustered into topics with a trend, and drafts from them."""

from datetime import timedelta

from fastapi.testclient import TestClient

from app.db import utcnow
from tests.analytics.conftest import ADMIN
from tests.analytics.factory import Story
from tests.factories import chat, make_token

KETTLES = [
    "продаёте ли вы умные чайники",
    "можно купить умный чайник у вас",
    "есть ли у вас умные чайники?",
]
SATELLITE = [
    "подключите спутниковое телевидение на даче",
    "как подключить спутниковое тв на даче",
]


def gaps(client: TestClient, **params: str) -> list[dict]:
    response = client.get("/v1/analytics/gaps", params=params, headers=ADMIN)
    assert response.status_code == 200, response.text
    return response.json()["gaps"]


def week(now) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {
        "from": (now - timedelta(days=7)).isoformat(),
        "to": (now + timedelta(minutes=1)).isoformat(),
    }


def test_unanswered_questions_cluster_into_topics_with_counts_and_trend(
    bare_client: TestClient,
) -> None:
    now = utcnow()
    earlier = Story(bare_client, now - timedelta(days=10), "old").ask("умный чайник продаёте?")
    earlier.bot("handoff", reason="low_confidence")
    earlier.hand_off("low_confidence", question="умный чайник продаёте?")
    for text in KETTLES + SATELLITE:
        assert chat(bare_client, text)["status"] == "handoff"

    found = gaps(bare_client, **week(now))
    assert [g["count"] for g in found] == [3, 2]
    kettles, satellite = found
    assert set(kettles["examples"]) == set(KETTLES)
    assert kettles["label"] in KETTLES
    assert kettles["trend"] == {"previous": 1, "change": 2.0, "direction": "up"}
    assert kettles["language"] == "ru"
    assert set(satellite["examples"]) == set(SATELLITE)
    assert satellite["trend"]["direction"] == "new"


def test_ignored_clarify_counts_and_a_taken_choice_does_not(client: TestClient) -> None:
    user = {"id": "u-clarify", "name": "C"}
    first = chat(client, "роутер", user=user)
    assert first["status"] == "clarify"
    chat(client, "1", user=user, conversation_id=first["conversation_id"])  # choice taken
    other = {"id": "u-ignored", "name": "D"}
    ignored = chat(client, "тариф", user=other)
    assert ignored["status"] == "clarify"  # and the customer never picks one
    texts = [example for gap in gaps(client) for example in gap["examples"]]
    assert "тариф" in texts
    assert "роутер" not in texts


def test_a_single_unanswered_question_is_a_gap_and_none_is_an_empty_list(
    bare_client: TestClient,
) -> None:
    assert gaps(bare_client) == []
    chat(bare_client, "квантовая телепортация холодильника")
    [only] = gaps(bare_client)
    assert only["count"] == 1
    assert only["examples"] == ["квантовая телепортация холодильника"]


def test_a_gap_becomes_a_draft_article_with_its_questions_as_phrasings(
    bare_client: TestClient,
) -> None:
    for text in KETTLES:
        chat(bare_client, text)
    [gap] = gaps(bare_client)
    editor = make_token(bare_client, "editor")
    made = bare_client.post(f"/v1/analytics/gaps/{gap['id']}/draft", headers=editor)
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["created"] is True and body["status"] == "draft" and body["questions"] == 3
    article = bare_client.get(f"/v1/articles/{body['article_id']}", headers=editor).json()
    assert article["status"] == "draft"
    assert set(article["questions"]) == set(KETTLES)
    assert article["language"] == "ru"
    assert article["title"] == gap["label"]
    # still a draft: the bot does not answer from it
    assert chat(bare_client, KETTLES[0])["status"] == "handoff"

    again = bare_client.post(f"/v1/analytics/gaps/{gap['id']}/draft", headers=editor)
    assert again.status_code == 200
    assert again.json()["article_id"] == body["article_id"]
    assert again.json()["created"] is False


def test_drafting_needs_an_editor_and_a_known_gap(bare_client: TestClient) -> None:
    chat(bare_client, "квантовая телепортация холодильника")
    [gap] = gaps(bare_client)
    operator = make_token(bare_client, "operator")
    assert bare_client.post(f"/v1/analytics/gaps/{gap['id']}/draft").status_code == 401
    denied = bare_client.post(f"/v1/analytics/gaps/{gap['id']}/draft", headers=operator)
    assert denied.status_code == 403
    missing = bare_client.post("/v1/analytics/gaps/gdoesnotexist/draft", headers=ADMIN)
    assert missing.status_code == 404
    assert missing.json()["type"] == "/problems/not-found"
