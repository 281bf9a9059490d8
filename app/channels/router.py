"""Webhooks the messengers call. Each checks the platform's signature on the raw body before
anything is parsed; a channel without its settings answers 404."""

from fastapi import APIRouter, Request, Response
from fastapi.responses import PlainTextResponse
from starlette.concurrency import run_in_threadpool

from app.channels.base import ChannelAdapter
from app.channels.graph import GraphAdapter, verify_subscription
from app.channels.registry import ADAPTERS
from app.channels.service import process_events
from app.errors import NotFound
from app.openapi import problems
from app.settings import Settings

router = APIRouter(prefix="/webhooks", tags=["channels"], responses=problems(404))
# A webhook without its signature or secret is 401, with a wrong one 403; a subscription
# check with the wrong verify token is 403. Telegram is acknowledged with JSON, the rest with text.
SIGNED = problems(401, 403)
VERIFIED = problems(403)


def _enabled(request: Request, channel: str) -> ChannelAdapter:
    adapter = ADAPTERS[channel]
    settings: Settings = request.app.state.settings
    if not adapter.enabled(settings):
        raise NotFound(f"The {channel} channel is not configured.")
    return adapter


async def _receive(request: Request, channel: str) -> Response:
    adapter = _enabled(request, channel)
    settings: Settings = request.app.state.settings
    body = await request.body()  # the raw bytes: signatures cover them exactly
    payload = adapter.authenticate(headers=request.headers, body=body, settings=settings)
    handshake = adapter.handshake(payload, settings)
    if handshake is not None:
        return handshake
    events = adapter.parse(payload)  # unexpected shapes parse to nothing: acknowledged, ignored
    if events:
        await run_in_threadpool(
            process_events, state=request.app.state, adapter=adapter, events=events
        )
    return adapter.acknowledgement()


def _subscribe(request: Request, channel: str) -> Response:
    adapter = _enabled(request, channel)
    assert isinstance(adapter, GraphAdapter)
    return verify_subscription(
        request.query_params, adapter.verify_token(request.app.state.settings)
    )


@router.post("/telegram", responses=SIGNED)
async def telegram_webhook(request: Request) -> Response:
    return await _receive(request, "telegram")


@router.get("/messenger", response_class=PlainTextResponse, responses=VERIFIED)
def messenger_subscribe(request: Request) -> Response:
    return _subscribe(request, "messenger")


@router.post("/messenger", response_class=PlainTextResponse, responses=SIGNED)
async def messenger_webhook(request: Request) -> Response:
    return await _receive(request, "messenger")


@router.get("/whatsapp", response_class=PlainTextResponse, responses=VERIFIED)
def whatsapp_subscribe(request: Request) -> Response:
    return _subscribe(request, "whatsapp")


@router.post("/whatsapp", response_class=PlainTextResponse, responses=SIGNED)
async def whatsapp_webhook(request: Request) -> Response:
    return await _receive(request, "whatsapp")


@router.post("/vk", response_class=PlainTextResponse, responses=SIGNED)
async def vk_webhook(request: Request) -> Response:
    return await _receive(request, "vk")
