"""The website widget: `GET /widget.js`, the demo page `GET /demo`, and their static files."""

import html
import re
from pathlib import Path

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, HTMLResponse

from app.errors import NotFound

WEB_DIR = Path(__file__).resolve().parent
STATIC_DIR = WEB_DIR / "static"
DEMO_TEMPLATE = WEB_DIR / "templates" / "demo.html"
ASSET_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}\.(css|js|svg|png)$")
MEDIA_TYPES = {
    "css": "text/css; charset=utf-8",
    "js": "text/javascript; charset=utf-8",
    "svg": "image/svg+xml",
    "png": "image/png",
}
# Sites cache the script for a few minutes; ETag/Last-Modified make revalidation cheap.
WIDGET_CACHE = "public, max-age=300"

router = APIRouter(tags=["web"])


@router.get("/widget.js", include_in_schema=False)
def widget_script() -> FileResponse:
    return FileResponse(
        STATIC_DIR / "widget.js",
        media_type=MEDIA_TYPES["js"],
        headers={
            "Cache-Control": WIDGET_CACHE,
            "Access-Control-Allow-Origin": "*",
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.get("/web/static/{name}", include_in_schema=False)
def static_asset(name: str) -> FileResponse:
    match = ASSET_NAME.match(name)
    path = STATIC_DIR / name
    if match is None or not path.is_file():
        raise NotFound(f"No static file {name!r}.")
    return FileResponse(
        path,
        media_type=MEDIA_TYPES[match.group(1)],
        headers={"Cache-Control": WIDGET_CACHE, "X-Content-Type-Options": "nosniff"},
    )


@router.get("/demo", response_class=HTMLResponse, include_in_schema=False)
def demo_page(
    request: Request,
    lang: str | None = Query(default=None, pattern="^(en|ru)$"),
) -> HTMLResponse:
    """A sample company page (the demo knowledge base's "Veterok") with the widget embedded."""
    base = html.escape(request.scope.get("root_path", "").rstrip("/"), quote=True)
    attributes = ' data-title="Veterok support"'
    if lang:
        attributes += f' data-lang="{lang}"'
    tag = f'<script src="{base}/widget.js"{attributes} async></script>'
    page = (
        DEMO_TEMPLATE.read_text(encoding="utf-8")
        .replace("{{WIDGET_TAG}}", tag)
        .replace("{{EN_CURRENT}}", ' aria-current="true"' if lang == "en" else "")
        .replace("{{RU_CURRENT}}", ' aria-current="true"' if lang == "ru" else "")
        .replace("{{BASE}}", base)
    )
    return HTMLResponse(page, headers={"Cache-Control": "no-cache"})
