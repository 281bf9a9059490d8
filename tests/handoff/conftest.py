"""Helpers for the handoff tests: operators, a conversation with a person, clients with settings."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from tests.conftest import ADMIN_TOKEN, make_settings, new_user
from tests.factories import chat

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def token(client: TestClient, name: str, role: str = "operator") -> dict[str, str]:
    response = client.post("/v1/tokens", json={"name": name, "role": role}, headers=ADMIN)
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def hand_off(client: TestClient, text: str = "позовите оператора", **fields: Any) -> dict[str, Any]:
    """A conversation that asked for a person; returns the chat reply plus its handoff id."""
    user = fields.pop("user", None) or new_user()
    reply = chat(client, text, user=user, **fields)
    assert reply["status"] == "handoff", reply
    reply["user"] = user
    reply["handoff_id"] = handoff_of(client, reply["conversation_id"])["id"]
    return reply


def handoff_of(client: TestClient, conversation_id: str) -> dict[str, Any]:
    for status in ("waiting", "assigned", "resolved"):
        listed = client.get("/v1/handoffs", params={"status": status}, headers=ADMIN).json()
        for item in listed["items"]:
            if item["conversation_id"] == conversation_id:
                return item
    raise AssertionError(f"no handoff for {conversation_id}")


def say(client: TestClient, reply: dict[str, Any], text: str, **fields: Any) -> dict[str, Any]:
    """The same customer writes again in the same conversation."""
    return chat(
        client, text, user=reply["user"], conversation_id=reply["conversation_id"], **fields
    )


@pytest.fixture
def operator(client: TestClient) -> dict[str, str]:
    return token(client, "anna")


@pytest.fixture
def client_with(database_url: str) -> Iterator[Callable[..., Any]]:
    """Opens an app with setting overrides: `with client_with(after_resolve_mode=...) as c`."""

    @contextmanager
    def open_client(**overrides: Any) -> Iterator[TestClient]:
        with TestClient(create_app(make_settings(database_url, **overrides))) as test_client:
            yield test_client

    yield open_client
