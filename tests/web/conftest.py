"""Browser fixtures: Debian's Chromium driven by Playwright, one live server per test module.

The browser tests need only SQLite: what they check is the widget, not the database.
"""

import re
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.settings import PROJECT_ROOT
from tests.conftest import ADMIN_TOKEN, LiveServer, live_env, make_settings

CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = PROJECT_ROOT / "test-artifacts" / "screenshots"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def find_chromium() -> str | None:
    for candidate in ("/usr/bin/chromium", shutil.which("chromium")):
        if candidate and Path(candidate).exists():
            return candidate
    script = PROJECT_ROOT / "scripts" / "install_browser.sh"
    subprocess.run(["bash", str(script)], check=False, timeout=900)
    found = shutil.which("chromium")
    return found if found and Path(found).exists() else None


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    executable = find_chromium()
    if executable is None:
        pytest.skip("chromium not found and scripts/install_browser.sh could not install it")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def widget_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A live uvicorn with the demo knowledge base on its own SQLite file."""
    database = tmp_path_factory.mktemp("widget") / "answerdesk.db"
    server = LiveServer(live_env(make_settings(f"sqlite:///{database}")))
    server.database_path = database  # type: ignore[attr-defined]
    yield server
    server.stop()


@pytest.fixture
def api(widget_server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=widget_server.url, timeout=15) as client:
        yield client


def new_context(browser: Any, **options: Any) -> Any:
    settings: dict[str, Any] = {"viewport": {"width": 1280, "height": 800}, "locale": "en-US"}
    settings.update(options)
    return browser.new_context(**settings)


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh browser profile (empty localStorage: a new customer) per test."""
    context = new_context(browser)
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


def screenshot(page: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{re.sub(r'[^a-z0-9_-]+', '-', name.lower())}.png"
    page.screenshot(path=str(path))
    return path


def operator_headers(api: httpx.Client, name: str) -> dict[str, str]:
    response = api.post("/v1/tokens", json={"name": name, "role": "operator"}, headers=ADMIN)
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def ask(api: httpx.Client, text: str, **fields: Any) -> dict[str, Any]:
    """The chat API directly, as a throw-away customer (to probe what the widget will get)."""
    body = {"channel": "web", "user": {"id": f"probe-{uuid.uuid4().hex[:8]}"}, "text": text}
    body.update(fields)
    response = api.post("/v1/chat", json=body, params={"debug": "true"})
    assert response.status_code == 200, response.text
    return response.json()
