"""Liveness (/healthz) and readiness (/readyz), as a load balancer or orchestrator sees them."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from app.db import make_engine
from app.openapi import Problem


@contextmanager
def database_unreachable(client: TestClient, tmp_path: Path) -> Iterator[None]:
    """Points the app's engine at a database that cannot be opened, then puts it back."""
    state = client.app.state  # type: ignore[attr-defined]
    url = str(state.engine.url)
    if url.startswith("sqlite"):
        unreachable = f"sqlite:///{tmp_path}"  # a directory: SQLite cannot open it
    else:  # nothing listens on port 1
        unreachable = make_url(url).set(port=1).render_as_string(hide_password=False)
    working, state.engine = state.engine, make_engine(unreachable)
    try:
        yield
    finally:
        state.engine.dispose()
        state.engine = working


def test_liveness_is_ok_while_the_process_runs(client: TestClient) -> None:
    response = client.get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_readiness_reports_the_database_and_the_loaded_index(client: TestClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    ready = response.json()
    assert ready["status"] == "ready"
    assert ready["articles"] > 0  # the demo knowledge base is in this worker's index
    assert ready["kb_version"] >= 1


def test_readiness_is_503_while_the_database_is_unreachable_and_liveness_stays_200(
    client: TestClient, tmp_path: Path
) -> None:
    with database_unreachable(client, tmp_path):
        ready = client.get("/readyz")
        alive = client.get("/healthz")
    assert ready.status_code == 503
    assert ready.headers["content-type"] == "application/problem+json"
    problem = Problem.model_validate(ready.json())
    assert problem.title == "Not ready"
    assert "Database unreachable" in problem.detail
    assert alive.status_code == 200  # a restart would not bring the database back
    assert client.get("/readyz").status_code == 200  # and ready again once it is back
