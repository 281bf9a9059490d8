"""Fixtures for the messenger channels: a fake platform server and the app pointed at it."""

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings
from tests.channels.fake_platform import FakePlatform, start_fake_platform
from tests.conftest import make_settings

TG_TOKEN = "123456:telegram-test-token"
TG_SECRET = "tg-webhook-secret_42"
MS_APP_SECRET = "messenger-app-secret"
MS_VERIFY = "messenger-verify-token"
MS_PAGE_TOKEN = "messenger-page-token"
WA_APP_SECRET = "whatsapp-app-secret"
WA_VERIFY = "whatsapp-verify-token"
WA_TOKEN = "whatsapp-access-token"
WA_PHONE_ID = "109876543210"
VK_CONFIRMATION = "a1b2c3d4"
VK_SECRET = "vk-callback-secret"
VK_TOKEN = "vk-community-token"


def channel_overrides(platform_url: str) -> dict[str, Any]:
    return {
        "telegram_bot_token": TG_TOKEN,
        "telegram_webhook_secret": TG_SECRET,
        "telegram_api_base": platform_url,
        "messenger_app_secret": MS_APP_SECRET,
        "messenger_verify_token": MS_VERIFY,
        "messenger_page_access_token": MS_PAGE_TOKEN,
        "whatsapp_app_secret": WA_APP_SECRET,
        "whatsapp_verify_token": WA_VERIFY,
        "whatsapp_access_token": WA_TOKEN,
        "whatsapp_phone_number_id": WA_PHONE_ID,
        "graph_api_base": f"{platform_url}/v21.0",
        "vk_confirmation": VK_CONFIRMATION,
        "vk_secret": VK_SECRET,
        "vk_access_token": VK_TOKEN,
        "vk_api_base": f"{platform_url}/method",
        # Tests drive the sender with deliver_due(now=...) instead of waiting for its loop.
        "outbox_sender_enabled": False,
        "outbox_http_timeout_seconds": 0.5,
    }


@pytest.fixture
def platform() -> Iterator[FakePlatform]:
    fake, server = start_fake_platform()
    yield fake
    server.shutdown()
    server.server_close()


@pytest.fixture
def channel_settings(database_url: str, platform: FakePlatform) -> Settings:
    return make_settings(database_url, **channel_overrides(platform.url))


@pytest.fixture
def app_factory(database_url: str, platform: FakePlatform) -> Iterator[Callable[..., TestClient]]:
    """Starts the app (with the demo KB) on this test's database; setting overrides allowed."""
    clients: list[TestClient] = []

    def start(**overrides: Any) -> TestClient:
        settings = make_settings(database_url, **{**channel_overrides(platform.url), **overrides})
        client = TestClient(create_app(settings))
        client.__enter__()
        clients.append(client)
        return client

    yield start
    for client in reversed(clients):
        client.__exit__(None, None, None)


@pytest.fixture
def channels(app_factory: Callable[..., TestClient]) -> TestClient:
    return app_factory()


@pytest.fixture
def clarifying(app_factory: Callable[..., TestClient]) -> TestClient:
    """Thresholds that make the bot offer choices for any question it half-recognises."""
    return app_factory(answer_threshold=0.99, handoff_threshold=0.0)


def deliver(client: TestClient, **kwargs: Any) -> int:
    return client.app.state.outbox_sender.deliver_due(**kwargs)  # type: ignore[attr-defined]
