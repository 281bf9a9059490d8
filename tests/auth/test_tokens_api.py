"""Tokens: created by an admin, stored hashed, revocable."""

from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from tests.factories import ADMIN, make_token


def test_created_token_works_and_is_stored_only_as_hash(
    empty_client: TestClient, database_url: str
) -> None:
    editor = make_token(empty_client, "editor")
    plain = editor["Authorization"].split()[1]
    assert empty_client.get("/v1/articles", headers=editor).status_code == 200
    engine = create_engine(database_url)
    with engine.connect() as connection:
        stored = connection.execute(text("SELECT token_hash FROM api_tokens")).scalars().all()
    engine.dispose()
    assert stored and plain not in stored


def test_revoked_token_is_refused(empty_client: TestClient) -> None:
    response = empty_client.post(
        "/v1/tokens", json={"name": "temp", "role": "editor"}, headers=ADMIN
    )
    token = response.json()
    headers = {"Authorization": f"Bearer {token['token']}"}
    assert empty_client.delete(f"/v1/tokens/{token['id']}", headers=ADMIN).status_code == 200
    assert empty_client.get("/v1/articles", headers=headers).status_code == 401


def test_only_admin_creates_tokens(empty_client: TestClient) -> None:
    editor = make_token(empty_client, "editor")
    response = empty_client.post("/v1/tokens", json={"name": "x", "role": "admin"}, headers=editor)
    assert response.status_code == 403


def test_unknown_role_is_422(empty_client: TestClient) -> None:
    response = empty_client.post("/v1/tokens", json={"name": "x", "role": "root"}, headers=ADMIN)
    assert response.status_code == 422


def test_token_id_beyond_the_id_range_is_422_not_500(empty_client: TestClient) -> None:
    # Found by tests/test_openapi_fuzz.py: token ids are 32-bit on PostgreSQL ("out of range").
    assert empty_client.delete(f"/v1/tokens/{2**31}", headers=ADMIN).status_code == 422
    assert empty_client.delete(f"/v1/tokens/{2**31 - 1}", headers=ADMIN).status_code == 404
