"""The operator console and KB editor: static pages at `/console`, and who the token belongs to.

The console is plain HTML, CSS and JavaScript modules in app/web/console/ with no build step.
Everything it shows comes from the public API with the operator's bearer token; this router
only serves the files and tells the page which role the token has (`GET /v1/console/me`).
"""

import re
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, RedirectResponse
from pydantic import BaseModel

from app.dependencies import PrincipalDep
from app.errors import NotFound
from app.openapi import problems

CONSOLE_DIR = Path(__file__).resolve().parent / "console"
ASSET_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}\.(css|js|svg)$")
MEDIA_TYPES = {
    "css": "text/css; charset=utf-8",
    "js": "text/javascript; charset=utf-8",
    "svg": "image/svg+xml",
}
# The page only ever talks to this origin and never needs inline script or markup from the
# server: a strict policy makes an escaping mistake in the page harmless.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
# Assets revalidate every time (ETag/Last-Modified make it cheap): after an upgrade an operator
# never runs an old module against a new API.
NO_CACHE = {"Cache-Control": "no-cache"}

router = APIRouter(tags=["console"])


class Me(BaseModel):
    name: str
    role: str


@router.get("/console", include_in_schema=False)
def console_page() -> FileResponse:
    return FileResponse(
        CONSOLE_DIR / "index.html",
        media_type="text/html; charset=utf-8",
        headers={**SECURITY_HEADERS, **NO_CACHE},
    )


@router.get("/console/", include_in_schema=False)
def console_slash() -> RedirectResponse:
    return RedirectResponse("/console", status_code=308)


@router.get("/console/{name}", include_in_schema=False)
def console_asset(name: str) -> FileResponse:
    match = ASSET_NAME.match(name)
    path = CONSOLE_DIR / name
    if match is None or not path.is_file():
        raise NotFound(f"No console file {name!r}.")
    return FileResponse(
        path, media_type=MEDIA_TYPES[match.group(1)], headers={**SECURITY_HEADERS, **NO_CACHE}
    )


@router.get("/v1/console/me", response_model=Me, tags=["console"], responses=problems(401))
def whoami(principal: PrincipalDep) -> Me:
    """The token's name and role: the console shows the pages that role can use."""
    return Me(name=principal.name, role=principal.role)
