"""Learning from operators: a resolve with an article proposes the customer's wording."""

from fastapi.testclient import TestClient

from tests.conftest import new_user
from tests.factories import chat, make_article
from tests.handoff.conftest import ADMIN, token

QUESTION = "my wifi box keeps blinking orange"


def _resolved_with_article(client: TestClient, operator: dict[str, str]) -> dict:
    user = new_user()
    first = chat(client, QUESTION, user=user)
    assert first["status"] != "answered"  # the bot does not know this wording yet
    pressed = client.post(f"/v1/conversations/{first['conversation_id']}/handoff").json()
    hid = pressed["handoff_id"]
    client.post(f"/v1/handoffs/{hid}/claim", headers=operator)
    client.post(
        f"/v1/handoffs/{hid}/messages", json={"article_id": "router-reset-en"}, headers=operator
    )
    resolved = client.post(
        f"/v1/handoffs/{hid}/resolve", json={"article_id": "router-reset-en"}, headers=operator
    )
    assert resolved.status_code == 200
    assert resolved.json()["resolution_article_id"] == "router-reset-en"
    return {"user": user, "handoff_id": hid}


def test_approved_phrasing_answers_the_original_question(
    client: TestClient, operator: dict[str, str]
) -> None:
    done = _resolved_with_article(client, operator)
    editor = token(client, "eve", role="editor")
    listed = client.get("/v1/kb/suggestions", headers=editor).json()["items"]
    assert [(s["article_id"], s["phrasing"]) for s in listed] == [("router-reset-en", QUESTION)]
    assert listed[0]["handoff_id"] == done["handoff_id"]
    approved = client.post(f"/v1/kb/suggestions/{listed[0]['id']}/approve", headers=editor)
    assert approved.status_code == 200
    assert approved.json()["status"] == "approved" and approved.json()["decided_by"] == "eve"
    article = client.get("/v1/articles/router-reset-en", headers=ADMIN).json()
    assert QUESTION in article["questions"]
    answer = chat(client, QUESTION)
    assert answer["status"] == "answered"
    assert answer["article"]["id"] == "router-reset-en"
    assert client.get("/v1/kb/suggestions", headers=editor).json()["items"] == []


def test_rejected_phrasing_changes_nothing(client: TestClient, operator: dict[str, str]) -> None:
    _resolved_with_article(client, operator)
    before = client.get("/v1/articles/router-reset-en", headers=ADMIN).json()["questions"]
    suggestion = client.get("/v1/kb/suggestions", headers=ADMIN).json()["items"][0]
    rejected = client.post(f"/v1/kb/suggestions/{suggestion['id']}/reject", headers=ADMIN)
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    assert (
        client.post(f"/v1/kb/suggestions/{suggestion['id']}/approve", headers=ADMIN).status_code
        == 409
    )
    after = client.get("/v1/articles/router-reset-en", headers=ADMIN).json()["questions"]
    assert after == before
    shown = client.get("/v1/kb/suggestions", params={"status": "rejected"}, headers=ADMIN)
    assert [s["id"] for s in shown.json()["items"]] == [suggestion["id"]]


def test_suggestions_need_an_editor(client: TestClient, operator: dict[str, str]) -> None:
    assert client.get("/v1/kb/suggestions").status_code == 401
    assert client.get("/v1/kb/suggestions", headers=operator).status_code == 403
    assert client.post("/v1/kb/suggestions/999/approve", headers=ADMIN).status_code == 404
    assert (
        client.get("/v1/kb/suggestions", params={"status": "odd"}, headers=ADMIN).status_code == 422
    )


def test_resolve_without_article_proposes_nothing(
    client: TestClient, operator: dict[str, str]
) -> None:
    first = chat(client, QUESTION)
    hid = client.post(f"/v1/conversations/{first['conversation_id']}/handoff").json()["handoff_id"]
    client.post(f"/v1/handoffs/{hid}/claim", headers=operator)
    client.post(f"/v1/handoffs/{hid}/resolve", json={"note": "called back"}, headers=operator)
    assert client.get("/v1/kb/suggestions", headers=ADMIN).json()["items"] == []


def test_approval_of_deleted_article_is_a_conflict(
    client: TestClient, operator: dict[str, str]
) -> None:
    make_article(client, "temp-article", title="Temporary", body="soon gone")
    first = chat(client, QUESTION)
    hid = client.post(f"/v1/conversations/{first['conversation_id']}/handoff").json()["handoff_id"]
    client.post(f"/v1/handoffs/{hid}/claim", headers=operator)
    client.post(
        f"/v1/handoffs/{hid}/resolve", json={"article_id": "temp-article"}, headers=operator
    )
    suggestion = client.get("/v1/kb/suggestions", headers=ADMIN).json()["items"][0]
    assert client.delete("/v1/articles/temp-article", headers=ADMIN).status_code == 204
    refused = client.post(f"/v1/kb/suggestions/{suggestion['id']}/approve", headers=ADMIN)
    assert refused.status_code == 409


def test_a_request_for_a_person_is_never_proposed_as_a_phrasing(
    client: TestClient, operator: dict[str, str]
) -> None:
    user = new_user()
    asked = chat(client, "позовите оператора", user=user)
    assert asked["status"] == "handoff"
    listed = client.get("/v1/handoffs", headers=operator).json()["items"]
    hid = next(h["id"] for h in listed if h["conversation_id"] == asked["conversation_id"])
    client.post(f"/v1/handoffs/{hid}/claim", headers=operator)
    resolved = client.post(
        f"/v1/handoffs/{hid}/resolve", json={"article_id": "router-reset-en"}, headers=operator
    )
    assert resolved.status_code == 200
    editor = token(client, "eve", role="editor")
    assert client.get("/v1/kb/suggestions", headers=editor).json()["items"] == []


def test_the_question_before_a_request_for_a_person_is_proposed(
    client: TestClient, operator: dict[str, str]
) -> None:
    user = new_user()
    first = chat(client, QUESTION, user=user)
    chat(client, "позовите оператора", user=user, conversation_id=first["conversation_id"])
    listed = client.get("/v1/handoffs", headers=operator).json()["items"]
    hid = next(h["id"] for h in listed if h["conversation_id"] == first["conversation_id"])
    client.post(f"/v1/handoffs/{hid}/claim", headers=operator)
    client.post(
        f"/v1/handoffs/{hid}/resolve", json={"article_id": "router-reset-en"}, headers=operator
    )
    editor = token(client, "eve", role="editor")
    items = client.get("/v1/kb/suggestions", headers=editor).json()["items"]
    assert [s["phrasing"] for s in items] == [QUESTION]
