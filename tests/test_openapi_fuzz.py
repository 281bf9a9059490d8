"""Schemathesis against the service's own OpenAPI document, over a live server.

Every operation in /openapi.json is called with generated data, valid and invalid (Schemathesis'
examples, coverage and fuzzing phases), with an admin token; operations that need a token are
called again without one. No response may be a server error, and each response's status code,
content type and body must be ones the document declares. One uvicorn server per database
(SQLite, and PostgreSQL when reachable) serves every operation; generation is derandomized, so a
run is reproducible:

    .venv/bin/pytest tests/test_openapi_fuzz.py -p no:randomly
    .venv/bin/pytest tests/test_openapi_fuzz.py -k "PUT and articles and sqlite"   # one operation

The knowledge base starts empty (the fuzzer's own articles fill it): every write rebuilds the
index, and with the demo KB those rebuilds made the run three times longer.
"""

from collections.abc import Iterator

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from app.main import create_app
from tests.conftest import (
    ADMIN_TOKEN,
    LiveServer,
    _postgres_database,
    _postgres_state,
    _truncate_postgres,
    live_env,
    make_settings,
)

pytestmark = pytest.mark.live

EXAMPLES_PER_OPERATION = 15  # in the fuzzing phase; the other phases' cases come on top
REQUEST_SECONDS = 30.0
# Server-sent event streams never end: the client keeps what arrived in this long (which must
# also cover the wait for the first byte on a busy machine).
STREAM_SECONDS = 0.5
STREAMS = {"/v1/conversations/{conversation_id}/events", "/v1/operator/events"}

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# No response-schema check for event streams: their body is `text/event-stream` frames, and
# OpenAPI 3.1 has no way to give the schema of each event's data, so there is nothing to check
# the stream against; status code and content type still are.
STREAM_CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance]

# Every channel on, so that the webhooks check signatures rather than answer 404; the platforms'
# APIs point at a closed local port and the outbox sender is off: nothing leaves the machine.
CHANNELS = {
    "ANSWERDESK_TELEGRAM_BOT_TOKEN": "fuzz",
    "ANSWERDESK_TELEGRAM_WEBHOOK_SECRET": "fuzz-secret",
    "ANSWERDESK_TELEGRAM_API_BASE": "http://127.0.0.1:9",
    "ANSWERDESK_MESSENGER_APP_SECRET": "fuzz-secret",
    "ANSWERDESK_MESSENGER_VERIFY_TOKEN": "fuzz-verify",
    "ANSWERDESK_MESSENGER_PAGE_ACCESS_TOKEN": "fuzz",
    "ANSWERDESK_WHATSAPP_APP_SECRET": "fuzz-secret",
    "ANSWERDESK_WHATSAPP_VERIFY_TOKEN": "fuzz-verify",
    "ANSWERDESK_WHATSAPP_ACCESS_TOKEN": "fuzz",
    "ANSWERDESK_WHATSAPP_PHONE_NUMBER_ID": "1",
    "ANSWERDESK_GRAPH_API_BASE": "http://127.0.0.1:9",
    "ANSWERDESK_VK_CONFIRMATION": "fuzz-confirmation",
    "ANSWERDESK_VK_SECRET": "fuzz-secret",
    "ANSWERDESK_VK_ACCESS_TOKEN": "fuzz",
    "ANSWERDESK_VK_API_BASE": "http://127.0.0.1:9",
    "ANSWERDESK_OUTBOX_SENDER_ENABLED": "false",
}

# The document the service serves (the server fixture checks that it is this one).
OPENAPI = create_app(make_settings("sqlite://")).openapi()
schema = schemathesis.openapi.from_dict(OPENAPI)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    if request.param == "sqlite":
        database_url = f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'answerdesk.db'}"
    else:
        database_url = _postgres_database() or ""
        if not database_url:
            pytest.skip(_postgres_state.get("reason") or "PostgreSQL not reachable")
        _truncate_postgres(database_url)
    live = LiveServer(live_env(make_settings(database_url, kb_dir=""), **CHANNELS))
    try:
        assert httpx.get(f"{live.url}/openapi.json").json() == OPENAPI
        yield live.url
    finally:
        live.stop()


def _needs_token(case: schemathesis.Case) -> bool:
    return bool(case.operation.definition.raw.get("security"))


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_operation_answers_as_documented(case: schemathesis.Case, server: str) -> None:
    streaming = case.operation.path in STREAMS
    checks = STREAM_CHECKS if streaming else CHECKS
    timeout = STREAM_SECONDS if streaming else REQUEST_SECONDS
    case.call_and_validate(base_url=server, headers=ADMIN, checks=checks, timeout=timeout)
    if _needs_token(case):
        case.headers = {
            k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"
        }
        # A full timeout: a refusal is no stream, and a stream without a token is what we look for.
        anonymous = case.call_and_validate(base_url=server, checks=checks, timeout=REQUEST_SECONDS)
        # Refused before the token check (bad body or query, a method the coverage phase swapped
        # in) or at it: never a success without a token.
        assert anonymous.status_code in (400, 401, 405, 413, 422), anonymous.text
