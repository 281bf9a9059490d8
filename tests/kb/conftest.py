"""KB editing fixtures: clients with their own limits, uploads, and role tokens."""

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from tests.conftest import make_settings
from tests.factories import ADMIN, make_token


@pytest.fixture
def client_with(database_url: str) -> Iterator[Callable[..., TestClient]]:
    """An app without the demo KB and with the given settings overridden."""
    clients: list[TestClient] = []

    def start(**overrides: Any) -> TestClient:
        client = TestClient(create_app(make_settings(database_url, kb_dir="", **overrides)))
        client.__enter__()
        clients.append(client)
        return client

    yield start
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def editor(empty_client: TestClient) -> dict[str, str]:
    return make_token(empty_client, "editor")


def upload(
    client: TestClient | httpx.Client,
    files: dict[str, bytes] | list[tuple[str, bytes]],
    headers: dict[str, str] | None = None,
    **params: Any,
) -> httpx.Response:
    pairs = files.items() if isinstance(files, dict) else files
    return client.post(
        "/v1/articles/import",
        files=[("file", (name, content)) for name, content in pairs],
        params={k: str(v).lower() for k, v in params.items()},
        headers=headers if headers is not None else ADMIN,
    )


def get_article(client: TestClient, article_id: str) -> dict[str, Any]:
    response = client.get(f"/v1/articles/{article_id}", headers=ADMIN)
    assert response.status_code == 200, response.text
    return response.json()
