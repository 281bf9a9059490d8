"""Dependencies for the handoff routes: the clock, and operator auth that EventSource can use."""

from collections.abc import Callable
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.auth.service import Principal, authenticate, ensure_role
from app.db import utcnow
from app.dependencies import SettingsDep


async def current_time(request: Request) -> datetime:
    """Now; tests pin it with `app.state.clock = lambda: datetime(...)`. Async only so that
    FastAPI calls it on the event loop instead of handing it to a worker thread."""
    clock: Callable[[], datetime] = getattr(request.app.state, "clock", utcnow)
    return clock()


NowDep = Annotated[datetime, Depends(current_time)]

_bearer = HTTPBearer(auto_error=False)


def stream_operator(
    request: Request,
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    access_token: Annotated[
        str | None, Query(description="for EventSource, which cannot send headers")
    ] = None,
) -> Principal:
    token = credentials.credentials if credentials else access_token
    # Its own short session: a request-scoped one would stay open as long as the stream.
    with request.app.state.session_factory() as session:
        principal = authenticate(session=session, token=token, admin_token=settings.admin_token)
    return ensure_role(principal, "operator")


StreamOperatorDep = Annotated[Principal, Depends(stream_operator)]
