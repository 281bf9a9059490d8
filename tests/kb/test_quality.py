"""Quality warnings on save: near-duplicates, question collisions, the regression set."""

from fastapi.testclient import TestClient

from tests.factories import ADMIN, make_article, make_token

PARKING = {
    "language": "en",
    "title": "Parking at the office",
    "body": "Visitors park free in the basement garage; show your booking at the gate.",
    "questions": ["where can I park", "is there parking for visitors"],
}
LUNCH = {
    "language": "en",
    "title": "Where to have lunch",
    "body": "The canteen is on floor 2 and opens at noon.",
    "questions": ["where is the canteen"],
}


def _put(client: TestClient, article_id: str, body: dict) -> dict:  # type: ignore[type-arg]
    response = client.put(f"/v1/articles/{article_id}", json=body, headers=ADMIN)
    assert response.status_code in (200, 201), response.text
    return response.json()


def test_near_duplicate_article_gets_a_warning_naming_the_other(empty_client: TestClient) -> None:
    make_article(empty_client, "parking", **PARKING)
    make_article(empty_client, "lunch", **LUNCH)
    saved = _put(empty_client, "parking-copy", {**PARKING, "questions": []})
    [duplicate] = [w for w in saved["warnings"] if w["kind"] == "near_duplicate"]
    assert duplicate["other_article_id"] == "parking"
    assert "parking" in duplicate["message"]
    assert empty_client.get("/v1/articles/parking-copy", headers=ADMIN).status_code == 200


def test_distinct_article_saves_without_warnings(empty_client: TestClient) -> None:
    make_article(empty_client, "parking", **PARKING)
    assert _put(empty_client, "lunch", LUNCH)["warnings"] == []


def test_question_matching_another_article_better_is_reported(empty_client: TestClient) -> None:
    make_article(empty_client, "parking", **PARKING)
    make_article(empty_client, "lunch", **LUNCH)
    saved = _put(
        empty_client,
        "lunch",
        {**LUNCH, "questions": ["where is the canteen", "is there parking for visitors"]},
    )
    collisions = [w for w in saved["warnings"] if w["kind"] == "question_collision"]
    assert [(w["article_id"], w["other_article_id"], w["phrasing"]) for w in collisions] == [
        ("lunch", "parking", "is there parking for visitors")
    ]


def test_regression_set_reports_questions_answered_differently(empty_client: TestClient) -> None:
    make_article(empty_client, "parking", **PARKING)
    make_article(empty_client, "lunch", **LUNCH)
    regression = {
        "items": [
            {"text": "where can I park my car", "expected_article_id": "parking"},
            {"text": "where is the canteen", "expected_article_id": "lunch"},
        ]
    }
    saved = empty_client.put("/v1/kb/regression-set", json=regression, headers=ADMIN)
    assert saved.status_code == 200
    assert empty_client.get("/v1/kb/regression-set", headers=ADMIN).json() == regression
    # A new article that takes over the parking question:
    report = _put(
        empty_client,
        "car-park",
        {
            "language": "en",
            "title": "Where can I park my car",
            "body": "Cars go to the multi-storey car park across the road.",
            "questions": ["where can I park my car", "car park"],
        },
    )
    [changed] = [w for w in report["warnings"] if w["kind"] == "regression"]
    assert changed["text"] == "where can I park my car"
    assert (changed["before"], changed["after"]) == ("parking", "car-park")
    assert changed["expected_article_id"] == "parking"


def test_regression_set_rejects_unknown_articles_and_checks_roles(
    empty_client: TestClient,
) -> None:
    make_article(empty_client, "parking", **PARKING)
    body = {"items": [{"text": "where can I park", "expected_article_id": "nope"}]}
    response = empty_client.put("/v1/kb/regression-set", json=body, headers=ADMIN)
    assert response.status_code == 422
    assert "nope" in response.json()["detail"]
    assert empty_client.put("/v1/kb/regression-set", json=body).status_code == 401
    operator = make_token(empty_client, "operator")
    assert empty_client.put("/v1/kb/regression-set", json=body, headers=operator).status_code == 403


def test_import_reports_near_duplicates(empty_client: TestClient) -> None:
    import json

    from tests.kb.conftest import upload

    make_article(empty_client, "parking", **PARKING)
    rows = [{"id": "parking-2", **PARKING, "questions": []}, {"id": "lunch", **LUNCH}]
    report = upload(empty_client, {"kb.json": json.dumps(rows).encode()}).json()
    duplicates = [w for w in report["warnings"] if w["kind"] == "near_duplicate"]
    assert [(w["article_id"], w["other_article_id"]) for w in duplicates] == [
        ("parking-2", "parking")
    ]


def test_articles_without_a_two_letter_word_save_without_a_duplicate_check(
    empty_client: TestClient,
) -> None:
    # Found by tests/test_openapi_fuzz.py: the TF-IDF of such a group has no vocabulary (500).
    make_article(empty_client, "digit", language="aa", title="0")
    saved = _put(empty_client, "letter", {"language": "aa", "title": "h", "body": "🙂"})
    assert saved["title"] == "h"
    assert [w for w in saved["warnings"] if w["kind"] == "near_duplicate"] == []
