"""Small builders for test data, always through the public API."""

from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import ADMIN_TOKEN, new_user

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def make_article(client: TestClient, article_id: str, **fields: Any) -> dict[str, Any]:
    body = {"language": "en", "title": article_id.replace("-", " "), "body": "", "questions": []}
    body.update(fields)
    response = client.put(f"/v1/articles/{article_id}", json=body, headers=ADMIN)
    assert response.status_code in (200, 201), response.text
    return response.json()


def chat(client: TestClient, text: str, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "channel": "web",
        "user": fields.pop("user", None) or new_user(),
        "text": text,
    }
    body.update(fields)
    response = client.post("/v1/chat", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def make_token(client: TestClient, role: str) -> dict[str, str]:
    response = client.post(
        "/v1/tokens", json={"name": f"{role}-token", "role": role}, headers=ADMIN
    )
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}
