"""The chat app with parts of a turn replaced, for `scripts/bench_load.py --ablations`.

Not for serving: each app answers every message with the same text, so that the benchmark can
say what the parts of a turn cost under load by what the server does without them.

- `without_matching`: the whole app, but the policy's decision (matching the knowledge base and
  the intents) is a constant answer; the database work, handoff checks and HTTP are real.
- `without_turn`: the whole app, but the turn (matching and every database read and write)
  is a constant answer; what is left is HTTP, middleware, dependencies and the thread hand-off.
"""

import itertools
import uuid
from typing import Any

from app.conversations import service
from app.conversations.models import Conversation, Message
from app.conversations.policy import Decision
from app.main import create_app

CONSTANT = Decision(status="answered", reply="A constant answer.", confidence=0.9, language="en")
_message_ids = itertools.count(1)


def _constant_decision(**_: Any) -> Decision:
    return CONSTANT


def _constant_turn(*, chat_in: Any, **_: Any) -> tuple[Conversation, Message, Decision]:
    conversation = Conversation(
        id=chat_in.conversation_id or uuid.uuid4().hex,
        channel=chat_in.channel,
        user_id=chat_in.user.id,
        status="bot",
    )
    reply = Message(
        id=next(_message_ids),
        conversation_id=conversation.id,
        role="bot",
        text=CONSTANT.reply,
        details={},
    )
    return conversation, reply, CONSTANT


def _app_with(**replaced: Any):  # type: ignore[no-untyped-def]
    """A new app whose turns call the replaced service functions (a server runs one app)."""
    for name, function in replaced.items():
        setattr(service, name, function)
    return create_app()


def without_matching():  # type: ignore[no-untyped-def]
    return _app_with(decide=_constant_decision)


def without_turn():  # type: ignore[no-untyped-def]
    return _app_with(handle_message=_constant_turn)
