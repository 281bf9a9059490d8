"""What Messenger and WhatsApp share: Meta's Graph API webhooks and error answers."""

from collections.abc import Mapping
from typing import Any

import httpx
from fastapi.responses import PlainTextResponse

from app.channels.base import SendResult, classify_status, load_json
from app.channels.signatures import secrets_equal
from app.errors import Forbidden

# Graph error codes that mean "too fast" or "try again": API unknown/service, rate limits.
TRANSIENT_CODES = {1, 2, 4, 17, 32, 341, 613, 80001, 80006, 130429, 131048, 131056}


def verify_subscription(params: Mapping[str, str], verify_token: str) -> PlainTextResponse:
    """The GET handshake: echo hub.challenge when hub.verify_token is ours."""
    given = params.get("hub.verify_token") or ""
    if params.get("hub.mode") != "subscribe" or not secrets_equal(given, verify_token):
        raise Forbidden("hub.mode must be subscribe and hub.verify_token must match.")
    return PlainTextResponse(params.get("hub.challenge") or "")


def classify_graph(response: httpx.Response) -> SendResult:
    result = classify_status(response)
    if result.outcome != "failed":
        return result
    body = load_json(response.content)
    error: Any = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict) and (
        error.get("is_transient") is True or error.get("code") in TRANSIENT_CODES
    ):
        return SendResult("retry", result.error)
    return result
