"""Getting a reply to the customer on the channel they wrote from.

The handoff queue calls `deliver_to_customer` for every operator message; web customers read
their transcript (polling or server-sent events), messenger customers get it through the outbox.
"""

import logging

from sqlalchemy.orm import Session

from app.channels.outbox import enqueue
from app.channels.registry import get_adapter
from app.conversations.models import Conversation, Message

log = logging.getLogger("answerdesk.channels")


def deliver_to_customer(*, session: Session, conversation: Conversation, message: Message) -> None:
    """Queues `message` for the customer; web conversations need nothing more than storage.

    For a messenger the outbox row is written in the caller's transaction: it goes out once
    that commits, and not at all if it rolls back.
    """
    if conversation.channel == "web":
        return
    adapter = get_adapter(conversation.channel)
    if adapter is None:
        log.warning(
            "no adapter for channel %r; message %s stays in the transcript",
            conversation.channel,
            message.id,
        )
        return
    recipient = str((conversation.meta or {}).get("reply_to") or conversation.user_id)
    enqueue(
        session=session,
        channel=conversation.channel,
        recipient=recipient,
        payloads=adapter.render(recipient=recipient, text=message.text, choices=[]),
        conversation_id=conversation.id,
    )
