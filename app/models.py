"""Every table, imported in one place so Alembic and the tests see the whole schema."""

from app.analytics.models import (
    ArticleFacts,
    ContentGap,
    ConversationFacts,
    DailyRollup,
    DirtyConversation,
    HandoffFacts,
)
from app.auth.models import ApiToken
from app.channels.models import InboundEvent, OutboxMessage
from app.conversations.models import Conversation, Feedback, Message
from app.db import Base
from app.handoff.models import Event, Handoff, PhrasingSuggestion
from app.kb.models import (
    Article,
    ArticleRevision,
    AuditEntry,
    KnowledgeBaseState,
    RegressionItem,
    Synonym,
)

__all__ = [
    "ApiToken",
    "Article",
    "ArticleFacts",
    "ArticleRevision",
    "AuditEntry",
    "Base",
    "ContentGap",
    "Conversation",
    "ConversationFacts",
    "DailyRollup",
    "DirtyConversation",
    "Event",
    "Feedback",
    "Handoff",
    "HandoffFacts",
    "InboundEvent",
    "KnowledgeBaseState",
    "Message",
    "OutboxMessage",
    "PhrasingSuggestion",
    "RegressionItem",
    "Synonym",
]
