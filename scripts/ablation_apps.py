"""The chat app with parts of a turn replaced, for `scripts/bench_load.py --ablations`.

Not for serving: each app answers every message with the same text, so that the benchmark can
say what the parts of a turn cost under load by what the server does without them.

- `without_matching`: the whole app, but the policy's decision (matching the knowledge base and
  the intents) is a constant answer; the database work, handoff checks and HTTP are real.
- `without_turn`: the whole app, but the turns (matching and every database read and write)
  are constant answers; what is left is HTTP, middleware, dependencies and the hand-off to the
  chat thread.
"""

import itertools
import uuid
from collections.abc import Sequence
from typing import Any

from app.conversations import service, turns
from app.conversations.policy import Decision
from app.conversations.schemas import ChatResponse
from app.conversations.turns import ChatTurn
from app.main import create_app

CONSTANT = Decision(status="answered", reply="A constant answer.", confidence=0.9, language="en")
_message_ids = itertools.count(1)


def _constant_decision(**_: Any) -> Decision:
    return CONSTANT


def _constant_turns(_: Any, chat_turns: Sequence[ChatTurn]) -> list[tuple[ChatResponse, bool]]:
    return [
        (
            ChatResponse(
                conversation_id=turn.chat_in.conversation_id or uuid.uuid4().hex,
                message_id=next(_message_ids),
                status="answered",
                reply=CONSTANT.reply,
                article=None,
                confidence=CONSTANT.confidence,
                suggestions=[],
            ),
            False,
        )
        for turn in chat_turns
    ]


def _app_with(module: Any, **replaced: Any):  # type: ignore[no-untyped-def]
    """A new app whose turns call the replaced functions (a server runs one app)."""
    for name, function in replaced.items():
        setattr(module, name, function)
    return create_app()


def without_matching():  # type: ignore[no-untyped-def]
    return _app_with(service, decide=_constant_decision)


def without_turn():  # type: ignore[no-untyped-def]
    return _app_with(turns, run_turns=_constant_turns)
