"""Annotated dependency aliases shared by every router."""

from collections.abc import AsyncIterator, Callable
from contextlib import suppress
from typing import Annotated, Any

import anyio
from fastapi import Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from app.auth.service import Principal, authenticate, ensure_role
from app.errors import InvalidInput
from app.settings import Settings


async def get_settings_dep(request: Request) -> Settings:
    # async only so that FastAPI calls it on the event loop, not in a worker thread
    return request.app.state.settings


async def get_session(request: Request) -> AsyncIterator[Session]:
    """One transaction per request, as db.session_scope: commit on success, roll back on any
    error. Async so that FastAPI does not hand its start and its end to worker threads (two
    hand-offs per request, a visible share of the chat endpoint's CPU under load); the end's
    database work still runs in a thread, and is skipped when the route has committed."""
    session = request.app.state.session_factory()
    try:
        yield session
    except BaseException:
        await _end_transaction(session, commit=False)
        raise
    await _end_transaction(session, commit=True)


async def _end_transaction(session: Session, *, commit: bool) -> None:
    if not session.in_transaction():
        session.close()  # nothing begun, no connection held: no database work to wait for
        return
    # As FastAPI ends a sync dependency: shielded from cancellation, and with a limiter of its
    # own so that it never waits for a free thread while holding a pooled connection.
    with anyio.CancelScope(shield=True):
        await anyio.to_thread.run_sync(
            _commit_or_roll_back, session, commit, limiter=anyio.CapacityLimiter(1)
        )


def _commit_or_roll_back(session: Session, commit: bool) -> None:
    try:
        if commit:
            session.commit()
        else:
            session.rollback()
    finally:
        session.close()


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
# A number in a path or a query outside its column's range is refused (422) rather than sent to
# the database: PostgreSQL fails on it, SQLite cannot even compare a column with it. Tokens,
# handoffs, suggestions and revisions have 32-bit ids; messages and events 64-bit ones.
MAX_ID = 2**31 - 1
MAX_BIG_ID = 2**63 - 1
RowId = Annotated[int, Path(ge=1, le=MAX_ID)]
BigRowId = Annotated[int, Path(ge=1, le=MAX_BIG_ID)]
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


def _holds_nul(value: Any) -> bool:
    pending = [value]  # a loop, not recursion: the JSON may nest deeper than the stack allows
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


# The only ways a JSON body can hold U+0000: the escape, or the character itself (which also
# shows up in bodies in UTF-16 or UTF-32, the other encodings json.loads accepts).
_NUL_MARKERS = (b"\\u0000", b"\x00")


async def refuse_nul_characters(request: Request) -> None:
    """App-wide: PostgreSQL cannot store U+0000 in text (SQLite can), so a request with one in
    its path, its query or the JSON body its route takes is refused (422) on either database.

    The body is parsed again only when its bytes hold one of _NUL_MARKERS: a second parse of
    every JSON body was a visible share of the chat endpoint's CPU under load."""
    texts = [request.scope["path"], *request.query_params.keys(), *request.query_params.values()]
    body: Any = None
    if getattr(request.scope.get("route"), "body_field", None) is not None:
        with suppress(ValueError):  # FastAPI has read it already; Starlette caches it
            raw = await request.body()
            if any(marker in raw for marker in _NUL_MARKERS):
                body = await request.json()
    if _holds_nul(texts) or _holds_nul(body):
        raise InvalidInput("Text may not contain NUL characters (U+0000).")
