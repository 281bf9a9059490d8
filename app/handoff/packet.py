"""The handoff as an operator sees it: the queue entry, the customer, the transcript."""

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.conversations.models import Conversation, Message
from app.conversations.schemas import MessageOut
from app.handoff.models import Handoff
from app.handoff.schemas import CandidateOut, CustomerOut, HandoffOut, HandoffPacket
from app.handoff.service import queue_position


def handoff_out(*, session: Session, handoff: Handoff) -> HandoffOut:
    conversation = session.get(Conversation, handoff.conversation_id)
    assert conversation is not None  # the foreign key guarantees it
    return HandoffOut(
        id=handoff.id,
        conversation_id=handoff.conversation_id,
        reason=handoff.reason,
        status=handoff.status,  # type: ignore[arg-type]
        operator_name=handoff.operator_name,
        question=handoff.question,
        queue_position=queue_position(session=session, handoff=handoff),
        customer=CustomerOut(
            channel=conversation.channel,
            user_id=conversation.user_id,
            name=conversation.user_name,
            language=conversation.language,
            metadata=conversation.meta or {},
        ),
        candidates=[CandidateOut.model_validate(c) for c in handoff.candidates or []],
        created_at=handoff.created_at,
        waiting_since=handoff.queued_at,
        claimed_at=handoff.claimed_at,
        first_response_at=handoff.first_response_at,
        resolved_at=handoff.resolved_at,
        resolution_article_id=handoff.resolution_article_id,
        resolution_note=handoff.resolution_note,
        rating=handoff.rating,
        previous_handoff_id=handoff.previous_handoff_id,
    )


def handoff_packet(*, session: Session, handoff: Handoff) -> HandoffPacket:
    transcript = session.scalars(
        select(Message)
        .where(Message.conversation_id == handoff.conversation_id)
        .order_by(Message.id)
    )
    return HandoffPacket(
        **handoff_out(session=session, handoff=handoff).model_dump(),
        transcript=[MessageOut.model_validate(m) for m in transcript],
    )
