"""The app-wide guards in front of every route: the body size limit and the NUL refusal."""

import json

from fastapi.testclient import TestClient

from app.main import MAX_BODY_BYTES
from tests.conftest import ADMIN_TOKEN, new_user

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def test_body_over_the_limit_is_413_problem_before_the_route_reads_it(client: TestClient) -> None:
    body = b'{"channel":"web","user":{"id":"u"},"text":"' + b"a" * MAX_BODY_BYTES + b'"}'
    response = client.post("/v1/chat", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json() == {
        "type": "/problems/too-large",
        "title": "Payload too large",
        "status": 413,
        "detail": f"The body exceeds {MAX_BODY_BYTES} bytes.",
    }


def test_body_at_the_limit_reaches_the_route(client: TestClient) -> None:
    body = json.dumps({"channel": "web", "user": new_user(), "text": "hi"}).encode()
    padded = body + b" " * (MAX_BODY_BYTES - len(body))  # JSON allows trailing whitespace
    response = client.post("/v1/chat", content=padded, headers={"content-type": "application/json"})
    assert response.status_code == 200, response.text


def test_imports_are_not_held_to_the_json_body_limit(empty_client: TestClient) -> None:
    articles = [
        {"id": f"big-{n}", "language": "en", "title": f"Big {n}", "body": "x" * 300_000}
        for n in range(8)
    ]
    content = json.dumps(articles).encode()
    assert len(content) > MAX_BODY_BYTES
    response = empty_client.post(
        "/v1/articles/import",
        files=[("file", ("kb.json", content))],
        headers=ADMIN,
    )
    assert response.status_code != 413, response.text
    assert response.status_code < 400, response.text


def test_nul_anywhere_in_a_json_body_is_422(client: TestClient) -> None:
    deep = {"page": [{"a": ["ok", {"b": "\x00"}]}]}
    response = client.post(
        "/v1/chat", json={"channel": "web", "user": new_user(), "text": "hi", "metadata": deep}
    )
    assert response.status_code == 422
    assert "NUL" in response.json()["detail"]
    in_a_key = {"channel": "web", "user": new_user(), "text": "hi", "metadata": {"\x00": 1}}
    assert client.post("/v1/chat", json=in_a_key).status_code == 422


def test_an_escaped_backslash_before_u0000_is_not_a_nul(client: TestClient) -> None:
    # The JSON text "\\u0000" is a backslash and "u0000": the raw bytes look like the escape.
    body = b'{"channel":"web","user":{"id":"guard-user"},"text":"path C:\\\\u0000 here"}'
    response = client.post("/v1/chat", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 200, response.text
