"""The OpenAPI document declares what the service really answers (tests/test_openapi_fuzz.py
checks every operation against it; these pin what that fuzzing found undeclared)."""

from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.openapi import Problem, ValidationProblem
from tests.conftest import make_settings
from tests.factories import ADMIN

PROBLEM_JSON = "application/problem+json"


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return create_app(make_settings("sqlite://")).openapi()


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
    ]


def test_every_error_is_documented_as_problem_details(document: dict[str, Any]) -> None:
    for method, path, operation in _operations(document):
        for status, response in operation["responses"].items():
            if status.startswith(("4", "5")):
                assert list(response["content"]) == [PROBLEM_JSON], (method, path, status)
        # app/errors.py answers invalid input with a problem, not FastAPI's own body
        schema = operation["responses"]["422"]["content"][PROBLEM_JSON]["schema"]
        assert schema == {"$ref": "#/components/schemas/ValidationProblem"}, (method, path)
    assert "HTTPValidationError" not in document["components"]["schemas"]


def test_both_kinds_of_422_fit_the_documented_schema(empty_client: TestClient) -> None:
    invalid = empty_client.post("/v1/chat", json={})  # the request does not fit the schema
    unknown = empty_client.put(  # fits, but the service refuses it
        "/v1/kb/regression-set",
        json={"items": [{"text": "hi", "expected_article_id": "nope"}]},
        headers=ADMIN,
    )
    for response in (invalid, unknown):
        assert response.status_code == 422
        assert response.headers["content-type"] == PROBLEM_JSON
        ValidationProblem.model_validate(response.json())
    assert invalid.json()["errors"]


def test_undecodable_body_is_a_documented_400_problem(
    empty_client: TestClient, document: dict[str, Any]
) -> None:
    response = empty_client.post(
        "/v1/chat", content=b'{"text": "\xff"}', headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    Problem.model_validate(response.json())
    for method, path, operation in _operations(document):
        if "requestBody" in operation:
            assert {"400", "413", "422"} <= set(operation["responses"]), (method, path)


def test_created_answers_are_documented(document: dict[str, Any]) -> None:
    paths = document["paths"]
    for path, method in [
        ("/v1/articles/{article_id}", "put"),
        ("/v1/conversations/{conversation_id}/handoff", "post"),
        ("/v1/analytics/gaps/{gap_id}/draft", "post"),
    ]:
        assert {"200", "201"} <= set(paths[path][method]["responses"]), path


def test_streams_csv_and_webhook_text_are_documented_with_their_media_types(
    document: dict[str, Any],
) -> None:
    paths = document["paths"]

    def media_types(path: str, method: str = "get") -> list[str]:
        return list(paths[path][method]["responses"]["200"]["content"])

    assert media_types("/v1/operator/events") == ["text/event-stream"]
    assert media_types("/v1/conversations/{conversation_id}/events") == ["text/event-stream"]
    for report in ("summary", "timeseries", "articles", "gaps"):
        assert set(media_types(f"/v1/analytics/{report}")) == {"application/json", "text/csv"}
    assert media_types("/webhooks/vk", "post") == ["text/plain"]
    assert media_types("/webhooks/telegram", "post") == ["application/json"]


def test_import_documents_its_multipart_upload(document: dict[str, Any]) -> None:
    body = document["paths"]["/v1/articles/import"]["post"]["requestBody"]
    assert body["content"]["multipart/form-data"]["schema"]["required"] == ["file"]
