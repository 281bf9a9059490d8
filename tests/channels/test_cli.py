"""`answerdesk telegram set-webhook URL` registers the webhook with its secret."""

from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from app.cli import cli
from app.settings import get_settings
from tests.channels.conftest import TG_SECRET, TG_TOKEN
from tests.channels.fake_platform import FakePlatform


@pytest.fixture
def telegram_env(platform: FakePlatform, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("ANSWERDESK_TELEGRAM_BOT_TOKEN", TG_TOKEN)
    monkeypatch.setenv("ANSWERDESK_TELEGRAM_WEBHOOK_SECRET", TG_SECRET)
    monkeypatch.setenv("ANSWERDESK_TELEGRAM_API_BASE", platform.url)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_set_webhook_sends_the_url_and_the_secret(
    telegram_env: None, platform: FakePlatform
) -> None:
    result = CliRunner().invoke(
        cli, ["telegram", "set-webhook", "https://support.example.org/webhooks/telegram"]
    )
    assert result.exit_code == 0, result.output
    [call] = platform.sent("/setWebhook")
    assert call.path == f"/bot{TG_TOKEN}/setWebhook"
    assert call.body["url"] == "https://support.example.org/webhooks/telegram"
    assert call.body["secret_token"] == TG_SECRET
    assert set(call.body["allowed_updates"]) == {"message", "callback_query"}


def test_set_webhook_reports_telegram_refusing(telegram_env: None, platform: FakePlatform) -> None:
    platform.fail(1, status=400, body={"ok": False, "description": "bad webhook: HTTPS required"})
    result = CliRunner().invoke(cli, ["telegram", "set-webhook", "http://plain.example.org/"])
    assert result.exit_code == 1
    assert "HTTPS required" in result.output


def test_set_webhook_needs_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANSWERDESK_TELEGRAM_BOT_TOKEN", raising=False)
    monkeypatch.setenv("ANSWERDESK_TELEGRAM_WEBHOOK_SECRET", "")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["telegram", "set-webhook", "https://x.example.org/"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2
    assert "ANSWERDESK_TELEGRAM_BOT_TOKEN" in result.output
