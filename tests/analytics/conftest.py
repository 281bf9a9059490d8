"""Fixtures for the analytics tests: clients whose roll-ups only move when a query asks.

The background refresher is slowed to once an hour here, so a test that pins the clock
(`app.state.clock`) is the only one deciding what "now" is for the 24 h and 7 day windows.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from tests.conftest import ADMIN_TOKEN, make_settings

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
QUIET = {"analytics_refresh_seconds": 3600}


@pytest.fixture
def open_client(database_url: str) -> Callable[..., Any]:
    """`with open_client(kb_dir="") as client:` with setting overrides."""

    @contextmanager
    def opened(**overrides: Any) -> Iterator[TestClient]:
        settings = make_settings(database_url, **{**QUIET, **overrides})
        with TestClient(create_app(settings)) as test_client:
            yield test_client

    return opened


@pytest.fixture
def client(open_client: Callable[..., Any]) -> Iterator[TestClient]:
    """The app with the demo knowledge base (overrides the suite's `client`)."""
    with open_client() as test_client:
        yield test_client


@pytest.fixture
def bare_client(open_client: Callable[..., Any]) -> Iterator[TestClient]:
    """No knowledge base: every question is a low-confidence handoff."""
    with open_client(kb_dir="") as test_client:
        yield test_client
