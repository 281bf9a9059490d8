"""Every messenger adapter by channel name."""

from app.channels.base import ChannelAdapter
from app.channels.messenger import MessengerAdapter
from app.channels.telegram import TelegramAdapter
from app.channels.vk import VkAdapter
from app.channels.whatsapp import WhatsAppAdapter

ADAPTERS: dict[str, ChannelAdapter] = {
    adapter.name: adapter
    for adapter in (TelegramAdapter(), MessengerAdapter(), WhatsAppAdapter(), VkAdapter())
}


def get_adapter(channel: str) -> ChannelAdapter | None:
    return ADAPTERS.get(channel)
