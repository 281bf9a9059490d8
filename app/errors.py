"""Our exceptions, and the one place that turns them into problem-details JSON (RFC 9457)."""

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.body_limit import MAX_BODY_SIZE_SCOPE_KEY

from app.db import database_unavailable

PROBLEM_JSON = "application/problem+json"
# What a client is told to wait after a database outage: a restart or a lock takes seconds.
DATABASE_RETRY_AFTER_SECONDS = 5


class AnswerdeskError(Exception):
    """Base for errors a client can cause; each subclass knows its HTTP status."""

    status_code = 400
    title = "Bad request"
    type_slug = "bad-request"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class NotFound(AnswerdeskError):
    status_code = 404
    title = "Not found"
    type_slug = "not-found"


class Conflict(AnswerdeskError):
    status_code = 409
    title = "Conflict"
    type_slug = "conflict"


class InvalidInput(AnswerdeskError):
    status_code = 422
    title = "Invalid input"
    type_slug = "invalid-input"


class Unauthorized(AnswerdeskError):
    status_code = 401
    title = "Unauthorized"
    type_slug = "unauthorized"


class Forbidden(AnswerdeskError):
    status_code = 403
    title = "Forbidden"
    type_slug = "forbidden"


class ServiceUnavailable(AnswerdeskError):
    status_code = 503
    title = "Service unavailable"
    type_slug = "unavailable"


def problem(status: int, title: str, detail: str, slug: str, **extra: Any) -> JSONResponse:
    body = {"type": f"/problems/{slug}", "title": title, "status": status, "detail": detail}
    body.update(extra)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def body_too_large(limit: int) -> JSONResponse:
    """The 413 for a body over the limit, whichever guard found it (app.main.BodySizeLimit by
    its Content-Length, the framework's limit by counting what streamed in)."""
    return problem(413, "Payload too large", f"The body exceeds {limit} bytes.", "too-large")


def _field_path(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc if part != "body") or "body"


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AnswerdeskError)
    async def _ours(_: Request, exc: AnswerdeskError) -> JSONResponse:
        return problem(exc.status_code, exc.title, exc.detail, exc.type_slug, **exc.extra)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"field": _field_path(tuple(err.get("loc", ()))), "message": err.get("msg", "")}
            for err in exc.errors()
        ]
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
        return problem(422, "Invalid input", detail, "invalid-input", errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 413 and (limit := request.scope.get(MAX_BODY_SIZE_SCOPE_KEY)):
            # The framework's body limit (include_router(..., max_body_size=...)), in the scope.
            return body_too_large(limit)
        title = {404: "Not found", 405: "Method not allowed"}.get(exc.status_code, "Error")
        slug = title.lower().replace(" ", "-")
        return problem(exc.status_code, title, str(exc.detail), slug)

    @app.exception_handler(DBAPIError)
    @app.exception_handler(PoolTimeout)
    async def _database(_: Request, exc: Exception) -> JSONResponse:
        # The request's transaction has been rolled back by then (session_scope).
        if not database_unavailable(exc):
            raise exc  # a bug in our SQL: the catch-all below answers 500 and logs it
        cause = getattr(exc, "orig", None) or exc
        first_line = next(iter(str(cause).splitlines()), "")
        logging.getLogger("answerdesk").warning(
            "database unavailable: %s: %s", type(cause).__name__, first_line
        )
        response = problem(
            503,
            "Database unavailable",
            "The database is not answering right now (restarting, locked or full); "
            "the request did not complete. Try again in a few seconds.",
            "database-unavailable",
        )
        response.headers["Retry-After"] = str(DATABASE_RETRY_AFTER_SECONDS)
        return response

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        # Never leak a stack trace; the log keeps it.
        logging.getLogger("answerdesk").exception("unhandled error", exc_info=exc)
        return problem(500, "Internal error", "An unexpected error occurred.", "internal")
