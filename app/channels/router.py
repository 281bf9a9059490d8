"""Webhooks the messengers call. Each checks the platform's signature on the raw body before
anything is parsed; a channel without its settings answers 404."""

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from app.channels.base import ChannelAdapter
from app.channels.graph import verify_subscription
from app.channels.messenger import MessengerAdapter
from app.channels.registry import ADAPTERS
from app.channels.service import process_events
from app.channels.whatsapp import WhatsAppAdapter
from app.errors import NotFound
from app.settings import Settings

router = APIRouter(prefix="/webhooks", tags=["channels"])


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
    assert isinstance(adapter, MessengerAdapter | WhatsAppAdapter)
    return verify_subscription(
        request.query_params, adapter.verify_token(request.app.state.settings)
    )


@router.post("/telegram")
async def telegram_webhook(request: Request) -> Response:
    return await _receive(request, "telegram")


@router.get("/messenger")
def messenger_subscribe(request: Request) -> Response:
    return _subscribe(request, "messenger")


@router.post("/messenger")
async def messenger_webhook(request: Request) -> Response:
    return await _receive(request, "messenger")


@router.get("/whatsapp")
def whatsapp_subscribe(request: Request) -> Response:
    return _subscribe(request, "whatsapp")


@router.post("/whatsapp")
async def whatsapp_webhook(request: Request) -> Response:
    return await _receive(request, "whatsapp")


@router.post("/vk")
async def vk_webhook(request: Request) -> Response:
    return await _receive(request, "vk")
