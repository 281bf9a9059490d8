"""The dialogue policy: answer, offer choices, make small talk or hand off.

Pure: it reads an index, the intents and the conversation's pending choices and returns a
decision; storing it is the service's job. The accuracy benchmark calls this same function.
"""

from dataclasses import dataclass, field

from app.matching.engine import match
from app.matching.index import SearchIndex
from app.matching.intents import IntentMatcher
from app.matching.types import ArticleDoc, Candidate, Match

CLARIFY_CHOICES = 3
# An intent wins over the knowledge base only when it is this sure and at least as sure.
INTENT_THRESHOLD = 0.55

MESSAGES = {
    "clarify": {
        "ru": "Уточните, пожалуйста, что вы имели в виду:",
        "en": "I want to get this right. Did you mean one of these?",
    },
    "handoff": {
        "ru": "Я не нашёл точного ответа и передаю ваш вопрос оператору. Он ответит здесь же.",
        "en": "I couldn't find a reliable answer, so I'm passing your question to a person "
        "on our team. They will reply here.",
    },
    "article_requires_person": {
        "ru": "Этот вопрос решает сотрудник поддержки. Передаю разговор оператору.",
        "en": "A member of our support team handles this. I'm passing the conversation on.",
    },
}


@dataclass(frozen=True, slots=True)
class Thresholds:
    answer: float
    handoff: float


@dataclass(frozen=True, slots=True)
class Decision:
    status: str  # answered, clarify, handoff or smalltalk
    reply: str
    confidence: float
    language: str
    article: ArticleDoc | None = None
    suggestions: tuple[Candidate, ...] = ()
    intent: str | None = None
    reason: str | None = None  # why a handoff happened
    match: Match | None = None
    intent_match: Match | None = None
    extra: dict[str, object] = field(default_factory=dict)


def message(key: str, language: str) -> str:
    texts = MESSAGES[key]
    return texts.get(language, texts["en"])


def clarify_reply(language: str, choices: tuple[Candidate, ...]) -> str:
    lines = [message("clarify", language)]
    lines += [f"{n}. {choice.title}" for n, choice in enumerate(choices, start=1)]
    return "\n".join(lines)


def answer_with(article: ArticleDoc, language: str, confidence: float = 1.0) -> Decision:
    if article.always_handoff:  # picked from the choices, but a person handles it
        return Decision(
            status="handoff",
            reply=message("article_requires_person", language),
            confidence=confidence,
            language=language,
            reason="article_requires_person",
        )
    return Decision(
        status="answered",
        reply=article.body or article.title,
        confidence=confidence,
        language=language,
        article=article,
    )


def chosen_article(
    index: SearchIndex, text: str, pending_choices: list[str], choice: str | None
) -> ArticleDoc | None:
    """A click on a choice button, or a reply of "2" to a numbered list of choices."""
    wanted = choice
    stripped = text.strip().rstrip(".)")
    if wanted is None and pending_choices and stripped.isdigit():
        position = int(stripped) - 1
        if 0 <= position < len(pending_choices):
            wanted = pending_choices[position]
    if wanted is None:
        return None
    return index.doc(wanted)


def decide(
    *,
    index: SearchIndex,
    intents: IntentMatcher,
    text: str,
    thresholds: Thresholds,
    language: str | None = None,
    default_language: str = "en",
    pending_choices: list[str] | None = None,
    choice: str | None = None,
) -> Decision:
    picked = chosen_article(index, text, pending_choices or [], choice)
    if picked is not None:
        return answer_with(picked, language or picked.language)

    kb = match(index, text, language=language)
    reply_language = language or kb.language or default_language
    # An intent wins at its threshold and the knowledge base's confidence; below either it
    # loses anyway, so the matcher need not rank one it cannot lift there.
    intent_wins_at = max(INTENT_THRESHOLD, kb.confidence)
    intent, intent_match = intents.match(
        text, language=language, kb_words=kb.known_words, floor=intent_wins_at
    )
    if intent is not None and intent_match.confidence >= intent_wins_at:
        if intent.kind == "handoff":
            return Decision(
                status="handoff",
                reply=intent.reply(reply_language, default_language),
                confidence=kb.confidence,
                language=reply_language,
                intent=intent.name,
                reason="human_request",
                match=kb,
                intent_match=intent_match,
            )
        return Decision(
            status="smalltalk",
            reply=intent.reply(reply_language, default_language),
            confidence=intent_match.confidence,
            language=reply_language,
            intent=intent.name,
            match=kb,
            intent_match=intent_match,
        )
    return _knowledge_base_decision(index, kb, thresholds, reply_language, intent_match)


def _knowledge_base_decision(
    index: SearchIndex,
    kb: Match,
    thresholds: Thresholds,
    language: str,
    intent_match: Match,
) -> Decision:
    top = kb.top
    doc = index.doc(top.article_id) if top else None
    answer_at = (
        doc.answer_threshold if doc and doc.answer_threshold is not None else thresholds.answer
    )
    handoff_at = (
        doc.handoff_threshold if doc and doc.handoff_threshold is not None else thresholds.handoff
    )
    common = {"confidence": kb.confidence, "language": language, "match": kb}
    if doc is not None and kb.confidence >= answer_at:
        if doc.always_handoff:
            return Decision(
                status="handoff",
                reply=message("article_requires_person", language),
                suggestions=kb.candidates,
                reason="article_requires_person",
                intent_match=intent_match,
                **common,
            )
        return Decision(
            status="answered",
            reply=doc.body or doc.title,
            article=doc,
            suggestions=kb.candidates,
            intent_match=intent_match,
            **common,
        )
    if doc is not None and kb.confidence >= handoff_at:
        choices = kb.candidates[:CLARIFY_CHOICES]
        return Decision(
            status="clarify",
            reply=clarify_reply(language, choices),
            suggestions=choices,
            intent_match=intent_match,
            **common,
        )
    return Decision(
        status="handoff",
        reply=message("handoff", language),
        suggestions=kb.candidates,
        reason="low_confidence",
        intent_match=intent_match,
        **common,
    )
