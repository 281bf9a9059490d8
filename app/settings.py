"""One settings object for the whole service, read from ANSWERDESK_* environment variables."""

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# The most ANSWERDESK_KB_MAX_UPLOAD_BYTES may be: the upload route's body limit is set from it.
MAX_UPLOAD_BYTES = 1024**3


def is_sqlite(database_url: str) -> bool:
    return database_url.startswith("sqlite")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ANSWERDESK_", env_file=".env", extra="ignore")

    database_url: str = f"sqlite:///{PROJECT_ROOT / 'data' / 'answerdesk.db'}"
    # How long a SQLite write waits for another writer's lock before the request gets a 503.
    sqlite_busy_timeout_seconds: float = Field(10.0, gt=0)
    kb_dir: str = str(PROJECT_ROOT / "kb")
    intents_dir: str = str(PROJECT_ROOT / "intents")
    admin_token: str | None = None

    # Messenger channels (docs/CHANNELS.md). A channel without all of its settings is off and
    # its webhook answers 404.
    telegram_bot_token: str | None = None
    telegram_webhook_secret: str | None = None
    telegram_api_base: str = "https://api.telegram.org"
    messenger_app_secret: str | None = None
    messenger_verify_token: str | None = None
    messenger_page_access_token: str | None = None
    whatsapp_app_secret: str | None = None
    whatsapp_verify_token: str | None = None
    whatsapp_access_token: str | None = None
    whatsapp_phone_number_id: str | None = None
    graph_api_base: str = "https://graph.facebook.com/v21.0"
    vk_confirmation: str | None = None
    vk_secret: str | None = None
    vk_access_token: str | None = None
    vk_api_base: str = "https://api.vk.com/method"
    vk_api_version: str = "5.199"
    # A messenger customer's conversation continues until it is closed or has been quiet this long.
    channel_idle_minutes: float = Field(24 * 60, gt=0)
    # The outbox sender: poll interval, HTTP timeout, backoff (base doubles per attempt, capped),
    # how long a claimed row stays leased to one worker, and when to give up on a message.
    outbox_sender_enabled: bool = True
    outbox_poll_seconds: float = Field(1.0, gt=0)
    outbox_http_timeout_seconds: float = Field(10.0, gt=0)
    outbox_retry_base_seconds: float = Field(2.0, gt=0)
    outbox_retry_max_seconds: float = Field(300.0, gt=0)
    outbox_lease_seconds: float = Field(60.0, gt=0)
    outbox_max_age_seconds: float = Field(24 * 3600, gt=0)

    # Confidence zones: at or above answer_threshold the bot answers; between the two it offers
    # choices; below handoff_threshold it hands off. Defaults come from scripts/evaluate.py.
    answer_threshold: float = Field(0.55, ge=0, le=1)
    handoff_threshold: float = Field(0.25, ge=0, le=1)
    default_language: str = "en"

    max_message_chars: int = Field(4000, gt=0)
    # Chat threads per worker (app/conversations/batcher.py); unset: 1 on SQLite, 2 on
    # PostgreSQL. Python runs one thread at a time, and a thread takes every message waiting and
    # runs them together. On PostgreSQL a second thread decides one batch while the other waits
    # for the server (scripts/bench_load.py, 2 cores, three alternating runs each: 64 customers
    # 965-1,026 messages/s against 902-953 with one, 32 customers 798-914 against 783-879); on
    # SQLite, whose writes take turns anyway, it only adds hand-offs (1,088-1,240 against
    # 1,260-1,270 at 64 customers).
    chat_threads: int | None = Field(None, gt=0)
    # At most this many waiting chat messages share one transaction (app/conversations/turns.py):
    # more saves more per message under load, and makes the last of them wait longer.
    chat_batch_size: int = Field(16, gt=0)
    # How often a worker checks the database for a newer knowledge-base version.
    kb_poll_seconds: float = Field(0.5, gt=0)
    # A full index build after patches waits until this many times the previous build's
    # duration has passed since it ended (IndexHolder._full_build_delay); 0 builds at once.
    kb_full_build_pace: float = Field(3.0, ge=0)
    # From this many published articles a full index build runs in a child process and is
    # mapped back in (app/kb/build_process.py); 0 builds every knowledge base that way.
    kb_child_build_articles: int = Field(20_000, ge=0)
    # Sites allowed to embed the chat widget (comma-separated origins, "*" for any, "" for none).
    widget_allowed_origins: str = "*"
    # Knowledge-base editing (docs/KNOWLEDGE_BASE.md): upload limits, how long a write waits
    # for this worker's new index before answering, and the quality checks on save.
    kb_max_upload_bytes: int = Field(50 * 1024 * 1024, gt=0, le=MAX_UPLOAD_BYTES)
    kb_max_import_rows: int = Field(20_000, gt=0)
    kb_write_wait_seconds: float = Field(10.0, ge=0)
    kb_duplicate_threshold: float = Field(0.8, gt=0, le=1)
    kb_import_check_limit: int = Field(2_000, ge=0)

    # Human handoff (docs/HANDOFF.md). A claimed handoff whose operator has not answered in
    # this many minutes goes back to the queue; checked every handoff_sla_check_seconds.
    handoff_reassign_minutes: float = Field(10, gt=0)
    handoff_sla_check_seconds: float = Field(30, gt=0)
    # Used for the customer's expected wait: queue position x this.
    handoff_minutes_per_customer: float = Field(3, gt=0)
    # "mon-fri 09:00-18:00; sat 10:00-14:00"; empty means people are always there.
    business_hours: str = ""
    business_timezone: str = "UTC"
    # After a resolve the customer's next message goes to the bot, or (same_operator) back to
    # the operator who resolved it if it comes within after_resolve_minutes.
    after_resolve_mode: Literal["bot", "same_operator"] = "bot"
    after_resolve_minutes: float = Field(30, ge=0)
    # How often server-sent event streams poll the database for news.
    events_poll_seconds: float = Field(0.4, gt=0)

    # Analytics (docs/METRICS.md). Savings in the summary: operator minutes one ticket takes,
    # and a comparison price per automated resolution (what a vendor would charge), in currency.
    minutes_per_ticket: float = Field(8.0, ge=0)
    price_per_automated_resolution: float = Field(0.99, ge=0)
    currency: str = Field("USD", pattern=r"^[A-Z]{3}$")
    # How often each worker folds new conversations into the roll-ups (queries also do it).
    analytics_refresh_seconds: float = Field(10.0, gt=0)

    @property
    def chat_threads_per_worker(self) -> int:
        if self.chat_threads is not None:
            return self.chat_threads
        return 1 if is_sqlite(self.database_url) else 2

    @field_validator("business_hours")
    @classmethod
    def _valid_business_hours(cls, value: str) -> str:
        from app.handoff.hours import parse_business_hours

        parse_business_hours(value)  # raises ValueError with the offending part
        return value

    @field_validator("business_timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo

        try:
            ZoneInfo(value)
        except Exception as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value


@lru_cache
def get_settings() -> Settings:
    return Settings()
