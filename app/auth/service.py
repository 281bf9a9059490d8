"""Issuing, checking and revoking API tokens."""

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.models import ApiToken
from app.db import utcnow
from app.errors import Forbidden, InvalidInput, NotFound, Unauthorized

ROLES = ("admin", "editor", "operator")


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the token's name and role."""

    name: str
    role: str

    def has_role(self, *allowed: str) -> bool:
        return self.role == "admin" or self.role in allowed


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(*, session: Session, name: str, role: str) -> tuple[ApiToken, str]:
    """Returns the stored row and the plain token, which is shown once and never stored."""
    if role not in ROLES:
        raise InvalidInput(f"Unknown role {role!r}; expected one of {', '.join(ROLES)}.")
    plain = "ad_" + secrets.token_urlsafe(32)
    row = ApiToken(name=name, role=role, token_hash=hash_token(plain))
    session.add(row)
    session.flush()
    return row, plain


def list_tokens(*, session: Session) -> list[ApiToken]:
    return list(session.scalars(select(ApiToken).order_by(ApiToken.id)))


def revoke_token(*, session: Session, token_id: int) -> ApiToken:
    row = session.get(ApiToken, token_id)
    if row is None:
        raise NotFound(f"Token {token_id} does not exist.")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
    return row


def authenticate(*, session: Session, token: str | None, admin_token: str | None) -> Principal:
    if not token:
        raise Unauthorized("A bearer token is required.")
    if admin_token and hmac.compare_digest(token.encode(), admin_token.encode()):
        return Principal(name="admin", role="admin")
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(token)))
    if row is None or row.revoked_at is not None:
        raise Unauthorized("The token is not valid.")
    return Principal(name=row.name, role=row.role)


def ensure_role(principal: Principal, *allowed: str) -> Principal:
    if not principal.has_role(*allowed):
        need = " or ".join(("admin", *allowed))
        raise Forbidden(f"This action needs the role {need}; the token has {principal.role}.")
    return principal
