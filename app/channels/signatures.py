"""Checking that a webhook really comes from the platform, always in constant time."""

import hashlib
import hmac

from app.errors import Forbidden, Unauthorized

__all__ = ["secrets_equal", "verify_hub_signature", "verify_shared_secret"]


def secrets_equal(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def verify_shared_secret(given: str | None, expected: str, *, what: str) -> None:
    """A secret the platform repeats on every request (Telegram's header, VK's field)."""
    if not given:
        raise Unauthorized(f"The request carries no {what}.")
    if not secrets_equal(given, expected):
        raise Forbidden(f"The {what} does not match.")


def hub_signature(body: bytes, app_secret: str) -> str:
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def verify_hub_signature(header: str | None, body: bytes, app_secret: str) -> None:
    """Meta's X-Hub-Signature-256: "sha256=" + HMAC-SHA256 of the raw body with the app secret."""
    if not header:
        raise Unauthorized("The request carries no X-Hub-Signature-256 header.")
    if not secrets_equal(header.strip().lower(), hub_signature(body, app_secret)):
        raise Forbidden("The X-Hub-Signature-256 signature does not match the body.")
