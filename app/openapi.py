"""What the OpenAPI document says about errors and non-JSON bodies, declared once.

Routers list the problems their operations answer with: `responses=problems(404, 409)`.
install_openapi() puts the problem schemas in the document and declares what the app adds to
every operation: invalid input (422; app/errors.py, and app/dependencies.py's check of every
request for NUL characters), and on every operation that takes a body, one that cannot be
decoded (400) or is over the size limit (413, app/main.py).
"""

from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict, Field

from app.errors import PROBLEM_JSON

__all__ = [
    "CSV",
    "EVENT_STREAM",
    "FieldProblem",
    "Problem",
    "ValidationProblem",
    "install_openapi",
    "problems",
]


class Problem(BaseModel):
    """An error as problem details (RFC 9457); some carry more members (an import report, the
    ids involved)."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str


class FieldProblem(BaseModel):
    field: str
    message: str


class ValidationProblem(Problem):
    """Invalid input. A request that does not fit the schema lists each field at fault in
    `errors`; a check the service makes (an unknown article, a bad date) says it in `detail`."""

    errors: list[FieldProblem] = Field(default_factory=list)


_SCHEMAS: dict[int, type[Problem]] = {422: ValidationProblem}
_DESCRIPTIONS = {
    400: "Bad request",
    401: "No bearer token (or signature), or one that is not valid",
    403: "The token's role does not allow this, or a signature does not match",
    404: "Not found",
    409: "Conflicts with the current state",
    413: "The body or upload is too large",
    422: "Invalid input",
    503: "Not ready or unavailable",
}


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` entries for problem-details errors with these status codes."""
    return {
        status: {
            "description": _DESCRIPTIONS[status],
            "content": {PROBLEM_JSON: {"schema": _ref(_SCHEMAS.get(status, Problem))}},
        }
        for status in statuses
    }


def _body(media_type: str, description: str) -> dict[int | str, dict[str, Any]]:
    return {
        200: {"description": description, "content": {media_type: {"schema": {"type": "string"}}}}
    }


# Successful bodies that are not JSON, for `responses=`.
CSV = _body("text/csv", "The same figures as CSV (format=csv)")
EVENT_STREAM = _body("text/event-stream", "Server-sent events, until the client disconnects")


def _is_fastapi_validation_error(response: dict[str, Any]) -> bool:
    schema = response.get("content", {}).get("application/json", {}).get("schema", {})
    return schema.get("$ref", "").endswith("/HTTPValidationError")


def _declare_app_wide_problems(document: dict[str, Any]) -> None:
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            # FastAPI documents its own 422 body where a route takes parameters; app/errors.py
            # answers with a problem, and refuse_nul_characters checks every route's query.
            if "422" not in responses or _is_fastapi_validation_error(responses["422"]):
                responses["422"] = problems(422)[422]
            if "requestBody" in operation:
                # A body that is not UTF-8 never reaches validation: FastAPI answers 400.
                for status in (400, 413):
                    responses.setdefault(str(status), problems(status)[status])
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    for model in (Problem, FieldProblem, ValidationProblem):
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema


def install_openapi(app: FastAPI) -> None:
    """Makes app.openapi() build FastAPI's document, then declare the app-wide problems."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            _declare_app_wide_problems(build())
        return app.openapi_schema  # type: ignore[return-value]

    app.openapi = openapi  # type: ignore[method-assign]
