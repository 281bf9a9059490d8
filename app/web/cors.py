"""Cross-origin access for the widget: the customer API only, never the staff API.

The widget runs on the customer's site and calls this server from another origin, so the
browser needs CORS headers on the chat, transcript, events, handoff and feedback endpoints.
No cookies are involved (the widget sends none), so credentials stay disallowed.
"""

import re

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

WIDGET_PATHS = re.compile(
    r"^/v1/(chat|conversations/[^/]+/(messages|events|handoff)|messages/[^/]+/feedback)/?$"
)


def allowed_origins(setting: str) -> list[str]:
    return [origin.strip().rstrip("/") for origin in setting.split(",") if origin.strip()]


class WidgetCORSMiddleware:
    """CORS for WIDGET_PATHS; every other path passes through untouched."""

    def __init__(self, app: ASGIApp, allow_origins: list[str]) -> None:
        self.app = app
        self.cors = CORSMiddleware(
            app,
            allow_origins=allow_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Content-Type", "Accept", "Last-Event-ID", "Idempotency-Key"],
            max_age=600,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and WIDGET_PATHS.match(scope["path"]):
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def install_widget_cors(app: FastAPI) -> None:
    origins = allowed_origins(app.state.settings.widget_allowed_origins)
    if origins:
        app.add_middleware(WidgetCORSMiddleware, allow_origins=origins)
