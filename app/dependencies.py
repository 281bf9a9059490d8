"""Annotated dependency aliases shared by every router."""

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from app.auth.service import Principal, authenticate, ensure_role
from app.db import session_scope
from app.settings import Settings


def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings


def get_session(request: Request) -> Iterator[Session]:
    yield from session_scope(request.app.state.session_factory)


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
# scope="function": commit before the response is sent, so a client never reads a 200 for a
# write that then fails to commit, and its next request sees what it just wrote.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]

_bearer = HTTPBearer(auto_error=False)


def get_principal(
    session: SessionDep,
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    token = credentials.credentials if credentials else None
    return authenticate(session=session, token=token, admin_token=settings.admin_token)


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def require_role(*allowed: str) -> Callable[[Principal], Principal]:
    def check(principal: PrincipalDep) -> Principal:
        return ensure_role(principal, *allowed)

    return check


EditorDep = Annotated[Principal, Depends(require_role("editor"))]
OperatorDep = Annotated[Principal, Depends(require_role("operator"))]
AdminDep = Annotated[Principal, Depends(require_role())]
