"""Revisions on every change, restoring them, and the audit log with authors."""

from fastapi.testclient import TestClient

from app.kb import service
from app.kb.schemas import ArticleIn
from tests.factories import ADMIN, chat, make_article, make_token

PARKING = {
    "language": "en",
    "title": "Parking at the office",
    "body": "Visitors park free in the basement garage.",
    "questions": ["where can I park"],
}


def _revisions(client: TestClient, article_id: str) -> list[dict]:  # type: ignore[type-arg]
    response = client.get(f"/v1/articles/{article_id}/revisions", headers=ADMIN)
    assert response.status_code == 200, response.text
    return response.json()["items"]


def test_each_put_makes_a_revision_with_author_and_changes(empty_client: TestClient) -> None:
    editor = make_token(empty_client, "editor")
    empty_client.put("/v1/articles/parking", json=PARKING, headers=editor)
    empty_client.put("/v1/articles/parking", json={**PARKING, "title": "Parking"}, headers=editor)
    newest, first = _revisions(empty_client, "parking")
    assert (first["number"], first["action"], first["author"]) == (1, "created", "editor-token")
    assert newest["number"] == 2 and newest["action"] == "updated"
    assert newest["changed"] == ["title"]
    assert newest["diff"]["title"] == {"before": "Parking at the office", "after": "Parking"}
    assert newest["content"]["title"] == "Parking"
    assert newest["created_at"]


def test_saving_identical_content_makes_no_revision(empty_client: TestClient) -> None:
    make_article(empty_client, "parking", **PARKING)
    make_article(empty_client, "parking", **PARKING)
    assert len(_revisions(empty_client, "parking")) == 1


def test_restore_brings_back_an_old_revision_and_it_answers(empty_client: TestClient) -> None:
    make_article(empty_client, "lunch", title="Where to have lunch", body="Canteen, floor 2.")
    make_article(empty_client, "parking", **PARKING)
    make_article(empty_client, "parking", **{**PARKING, "body": "No more parking, sorry."})
    response = empty_client.post("/v1/articles/parking/revisions/1/restore", headers=ADMIN)
    assert response.status_code == 200, response.text
    assert response.json()["body"] == PARKING["body"]
    newest = _revisions(empty_client, "parking")[0]
    assert (newest["number"], newest["action"], newest["source"]) == (3, "restored", "restore:1")
    assert chat(empty_client, "where can I park")["reply"] == PARKING["body"]


def test_deleted_article_keeps_history_and_can_be_restored(empty_client: TestClient) -> None:
    make_article(empty_client, "parking", **PARKING)
    assert empty_client.delete("/v1/articles/parking", headers=ADMIN).status_code == 204
    deleted = _revisions(empty_client, "parking")[0]
    assert deleted["action"] == "deleted" and deleted["content"]["title"] == PARKING["title"]
    restored = empty_client.post("/v1/articles/parking/revisions/2/restore", headers=ADMIN)
    assert restored.status_code == 200
    assert empty_client.get("/v1/articles/parking", headers=ADMIN).json()["body"] == PARKING["body"]


def test_unknown_revision_is_404(empty_client: TestClient) -> None:
    make_article(empty_client, "parking", **PARKING)
    missing = empty_client.post("/v1/articles/parking/revisions/9/restore", headers=ADMIN)
    assert missing.status_code == 404
    assert empty_client.get("/v1/articles/nope/revisions", headers=ADMIN).status_code == 404


def test_history_endpoints_check_roles(empty_client: TestClient) -> None:
    make_article(empty_client, "parking", **PARKING)
    operator = make_token(empty_client, "operator")
    editor = make_token(empty_client, "editor")
    restore = "/v1/articles/parking/revisions/1/restore"
    assert empty_client.post(restore).status_code == 401
    assert empty_client.post(restore, headers=operator).status_code == 403
    assert empty_client.get("/v1/articles/parking/revisions").status_code == 401
    assert empty_client.get("/v1/articles/parking/revisions", headers=operator).status_code == 403
    assert empty_client.get("/v1/audit").status_code == 401
    assert empty_client.get("/v1/audit", headers=editor).status_code == 403
    assert empty_client.get("/v1/audit", headers=ADMIN).status_code == 200


def test_audit_log_records_every_change_with_its_author(empty_client: TestClient) -> None:
    editor = make_token(empty_client, "editor")
    empty_client.put("/v1/articles/parking", json=PARKING, headers=editor)
    empty_client.put("/v1/articles/parking", json={**PARKING, "title": "P"}, headers=editor)
    empty_client.delete("/v1/articles/parking", headers=ADMIN)
    empty_client.put("/v1/synonyms", json={"synonyms": {"car": "parking"}}, headers=editor)
    entries = empty_client.get("/v1/audit", headers=ADMIN).json()["items"]
    mine = [(e["action"], e["target"], e["author"]) for e in entries if e["author"] != "system"]
    assert mine == [
        ("synonyms.replaced", None, "editor-token"),
        ("article.deleted", "parking", "admin"),
        ("article.updated", "parking", "editor-token"),
        ("article.created", "parking", "editor-token"),
    ]
    only_parking = empty_client.get("/v1/audit", params={"target": "parking"}, headers=ADMIN)
    assert only_parking.json()["total"] == 3


def test_service_callers_without_author_still_get_revisions(empty_client: TestClient) -> None:
    """Phrasing approvals call app.kb.service.put_article directly, without an author."""
    make_article(empty_client, "parking", **PARKING)
    factory = empty_client.app.state.session_factory  # type: ignore[attr-defined]
    with factory() as session:
        service.put_article(
            session=session,
            article_id="parking",
            article_in=ArticleIn(**{**PARKING, "questions": ["where can I park", "car park"]}),
        )
        session.commit()
    newest = _revisions(empty_client, "parking")[0]
    assert (newest["author"], newest["changed"]) == ("system", ["questions"])
    assert newest["diff"]["questions"]["after"] == ["where can I park", "car park"]


def test_revision_number_beyond_the_id_range_is_422_not_500(empty_client: TestClient) -> None:
    # Found by tests/test_openapi_fuzz.py: revision numbers are 32-bit on PostgreSQL.
    make_article(empty_client, "parking")
    restore = "/v1/articles/parking/revisions/{}/restore"
    assert empty_client.post(restore.format(2**31), headers=ADMIN).status_code == 422
    assert empty_client.post(restore.format(2**31 - 1), headers=ADMIN).status_code == 404
