"""The formulas of docs/METRICS.md, as pure functions over one conversation's stored events.

`conversation_facts` turns a conversation's messages, feedback and handoffs into the counts the
roll-ups sum; `summarize` turns those sums into the published rates. Nothing here touches the
database, so the definitions can be read (and tested) in one place.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from app.conversations.policy import CLARIFY_CHOICES

# A bot reply to a knowledge-base question: the policy searched the KB for it.
KB_STATUSES = ("answered", "clarify")
KB_HANDOFF_REASONS = (
    "low_confidence",
    "clarify_ignored",
    "repeated_failure",
    "negative_sentiment",
    "article_requires_person",
)
NOT_A_REPLY = ("queue_notice",)  # bot messages telling the customer about the queue
SETTLE_AFTER = timedelta(hours=24)  # no further KB question this long after the last answer
DURABLE_FOR = timedelta(days=7)  # no new contact from the same customer this long after it

# The additive counts kept per conversation and summed by the roll-ups.
COUNTS = (
    "all_conversations",
    "conversations",
    "smalltalk_only",
    "direct_handoff",
    "handed_off",
    "deflected",
    "kb_questions",
    "clarify_replies",
    "clarify_taken",
    "thumbs_up",
    "thumbs_down",
    "rating_sum",
    "rating_count",
    "automated",
    "durable",
)


@dataclass(frozen=True, slots=True)
class MessageEvent:
    id: int
    role: str
    status: str | None
    reason: str | None
    article_id: str | None
    created_at: datetime
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class HandoffEvent:
    id: int
    reason: str
    created_at: datetime
    first_response_at: datetime | None
    resolved_at: datetime | None
    rating: int | None
    trigger_message_id: int | None


@dataclass(frozen=True, slots=True)
class FeedbackEvent:
    message_id: int
    value: int
    created_at: datetime


@dataclass(slots=True)
class ArticleCounts:
    served: int = 0
    thumbs_up: int = 0
    thumbs_down: int = 0
    handoffs_after: int = 0


@dataclass(slots=True)
class Facts:
    kb_questions: int = 0
    has_kb_question: int = 0
    smalltalk_only: int = 0
    direct_handoff: int = 0
    handed_off: int = 0
    deflected: int = 0
    clarify_replies: int = 0
    clarify_taken: int = 0
    thumbs_up: int = 0
    thumbs_down: int = 0
    rating_sum: int = 0
    rating_count: int = 0
    final_answer_at: datetime | None = None
    auto_settles_at: datetime | None = None
    durable_settles_at: datetime | None = None
    articles: dict[str, ArticleCounts] = field(default_factory=dict)


def is_kb_reply(message: MessageEvent) -> bool:
    if message.role != "bot":
        return False
    if message.status in KB_STATUSES:
        return True
    return message.status == "handoff" and message.reason in KB_HANDOFF_REASONS


def _is_handoff_reply(message: MessageEvent) -> bool:
    return (
        message.role == "bot" and message.status == "handoff" and message.reason not in NOT_A_REPLY
    )


def latest_feedback(feedback: Iterable[FeedbackEvent]) -> dict[int, FeedbackEvent]:
    """A customer may click again; the last click on a message counts."""
    latest: dict[int, FeedbackEvent] = {}
    for item in feedback:  # in insertion order
        latest[item.message_id] = item
    return latest


def _offered(clarify: MessageEvent) -> set[str]:
    candidates = (clarify.details or {}).get("candidates") or []
    return {c.get("id") for c in candidates[:CLARIFY_CHOICES] if isinstance(c, dict)}


def conversation_facts(
    *,
    messages: Sequence[MessageEvent],
    feedback: Iterable[FeedbackEvent],
    handoffs: Sequence[HandoffEvent],
    next_contact_at: datetime | None,
) -> Facts:
    """`messages` in id order; `next_contact_at` is when the same customer next started a
    conversation (any channel), or None."""
    facts = Facts()
    votes = latest_feedback(feedback)
    bot = [m for m in messages if m.role == "bot"]
    kb_replies = [m for m in bot if is_kb_reply(m)]
    handed = bool(handoffs) or any(_is_handoff_reply(m) for m in bot)
    has_kb = bool(kb_replies)

    facts.kb_questions = len(kb_replies)
    facts.has_kb_question = int(has_kb)
    facts.handed_off = int(has_kb and handed)
    facts.deflected = int(has_kb and not handed)
    facts.direct_handoff = int(not has_kb and handed)
    facts.smalltalk_only = int(
        not has_kb and not handed and any(m.status == "smalltalk" for m in bot)
    )

    triggers = {h.trigger_message_id for h in handoffs if h.trigger_message_id is not None}
    for position, reply in enumerate(bot):
        later = bot[position + 1 :]
        following = next((m for m in later if m.reason not in NOT_A_REPLY), None)
        if reply.status == "clarify":
            facts.clarify_replies += 1
            if (
                following is not None
                and following.status == "answered"
                and following.article_id in _offered(reply)
            ):
                facts.clarify_taken += 1
        if reply.status != "answered":
            continue
        vote = votes.get(reply.id)
        facts.thumbs_up += int(vote is not None and vote.value > 0)
        facts.thumbs_down += int(vote is not None and vote.value < 0)
        if reply.article_id:
            counts = facts.articles.setdefault(reply.article_id, ArticleCounts())
            counts.served += 1
            counts.thumbs_up += int(vote is not None and vote.value > 0)
            counts.thumbs_down += int(vote is not None and vote.value < 0)
            counts.handoffs_after += int(_handoff_right_after(reply, messages, following, triggers))

    for handoff in handoffs:
        if handoff.rating is not None:
            facts.rating_sum += handoff.rating
            facts.rating_count += 1

    final = kb_replies[-1] if kb_replies else None
    if final is not None and final.status == "answered" and not handed:
        vote = votes.get(final.id)
        if vote is None or vote.value > 0:
            facts.final_answer_at = final.created_at
            settles = final.created_at + SETTLE_AFTER
            if vote is not None:  # a 👍 settles it at once
                settles = min(settles, max(vote.created_at, final.created_at))
            facts.auto_settles_at = settles
            window_end = final.created_at + DURABLE_FOR
            if next_contact_at is None or next_contact_at > window_end:
                facts.durable_settles_at = max(window_end, settles)
    return facts


def _handoff_right_after(
    answer: MessageEvent,
    messages: Sequence[MessageEvent],
    following: MessageEvent | None,
    triggers: set[int],
) -> bool:
    """The customer's next turn after the answer went to a person."""
    turn = next(
        (m for m in messages if m.id > answer.id and m.role in ("customer", "system")), None
    )
    if turn is not None and turn.id in triggers:
        return True
    return following is not None and _is_handoff_reply(following)


def percentiles(values: Sequence[float]) -> dict[str, float | None]:
    """p50 and p90 by linear interpolation between the closest ranks (numpy's default)."""
    if not values:
        return {"p50": None, "p90": None}
    p50, p90 = np.percentile(np.asarray(values, dtype=float), [50, 90])
    return {"p50": round(float(p50), 3), "p90": round(float(p90), 3)}


def ratio(numerator: float, denominator: float) -> float:
    """0.0 when there is nothing to divide (an empty period)."""
    return round(numerator / denominator, 6) if denominator else 0.0


def share_or_none(numerator: float, denominator: float) -> float | None:
    return round(numerator / denominator, 6) if denominator else None


def summarize(
    *,
    sums: dict[str, int],
    handoffs_by_reason: dict[str, int],
    first_response: Sequence[float],
    resolution: Sequence[float],
    minutes_per_ticket: float,
    price_per_automated_resolution: float,
    currency: str,
) -> dict[str, Any]:
    conversations = sums["conversations"]
    automated = sums["automated"]
    return {
        "all_conversations": sums["all_conversations"],
        "conversations": conversations,
        "smalltalk_only_conversations": sums["smalltalk_only"],
        "direct_handoff_conversations": sums["direct_handoff"],
        "kb_questions": sums["kb_questions"],
        "deflected_conversations": sums["deflected"],
        "deflection_rate": ratio(sums["deflected"], conversations),
        "automated_resolutions": automated,
        "automated_resolution_rate": ratio(automated, conversations),
        "durable_resolutions": sums["durable"],
        "durable_resolution_rate": ratio(sums["durable"], conversations),
        "handed_off_conversations": sums["handed_off"],
        "handoff_rate": ratio(sums["handed_off"], conversations),
        "handoffs": sum(handoffs_by_reason.values()),
        "handoffs_by_reason": dict(sorted(handoffs_by_reason.items())),
        "clarify_replies": sums["clarify_replies"],
        "clarify_rate": ratio(sums["clarify_replies"], sums["kb_questions"]),
        "clarify_choice_taken_rate": ratio(sums["clarify_taken"], sums["clarify_replies"]),
        "first_human_response_seconds": percentiles(first_response),
        "resolution_seconds": percentiles(resolution),
        "csat": {
            "thumbs_up": sums["thumbs_up"],
            "thumbs_down": sums["thumbs_down"],
            "helpful_share": share_or_none(
                sums["thumbs_up"], sums["thumbs_up"] + sums["thumbs_down"]
            ),
            "ratings_average": share_or_none(sums["rating_sum"], sums["rating_count"]),
            "ratings_count": sums["rating_count"],
        },
        "savings": {
            "hours": round(automated * minutes_per_ticket / 60, 2),
            "money": round(automated * price_per_automated_resolution, 2),
            "currency": currency,
        },
    }
