"""Intent matching with a floor: a message about knowledge-base topics skips the intent ranking
without changing any decision the policy takes from it."""

import pytest
import yaml

from app.conversations.policy import INTENT_THRESHOLD
from app.kb.loader import kb_dir_docs
from app.kb.reindex import starter_synonyms
from app.matching.engine import match
from app.matching.index import SearchIndex
from app.matching.intents import IntentMatcher
from app.settings import PROJECT_ROOT

EVAL_SET = PROJECT_ROOT / "scripts" / "eval_data" / "demo_queries.yaml"


@pytest.fixture(scope="module")
def demo() -> tuple[SearchIndex, IntentMatcher]:
    docs = kb_dir_docs(PROJECT_ROOT / "kb")
    index = SearchIndex.build(docs, synonyms=starter_synonyms())
    return index, IntentMatcher.from_directory(PROJECT_ROOT / "intents")


def messages() -> list[str]:
    queries = [str(q["text"]) for q in yaml.safe_load(EVAL_SET.read_text(encoding="utf-8"))]
    return [
        *queries,
        "спасибо",
        "позовите оператора, у меня не работает интернет",
        "нет интернета",
        "thanks a bunch",
        "I want to talk to a human about my bill",
    ]


def what_counts(intent_and_match: tuple) -> tuple[str | None, float]:  # type: ignore[type-arg]
    """What the policy reads: the intent and its confidence, when it reaches the threshold."""
    intent, found = intent_and_match
    if intent is None or found.confidence < INTENT_THRESHOLD:
        return None, 0.0
    return intent.name, found.confidence


def what_wins(intent_and_match: tuple, kb_confidence: float) -> tuple[str | None, float]:  # type: ignore[type-arg]
    """What the policy acts on: the intent and its confidence, when it reaches the threshold
    and the knowledge base's confidence."""
    intent, found = intent_and_match
    if intent is None or found.confidence < max(INTENT_THRESHOLD, kb_confidence):
        return None, 0.0
    return intent.name, found.confidence


def test_the_floor_changes_no_intent_the_policy_would_act_on(demo) -> None:  # type: ignore[no-untyped-def]
    index, intents = demo
    skipped = {"threshold": 0, "threshold or knowledge base": 0}
    for text in messages():
        kb = match(index, text)
        exact = intents.match(text, kb_words=kb.known_words)
        floored = intents.match(text, kb_words=kb.known_words, floor=INTENT_THRESHOLD)
        assert what_counts(floored) == what_counts(exact), text
        skipped["threshold"] += not floored[1].candidates
        floored = intents.match(
            text, kb_words=kb.known_words, floor=max(INTENT_THRESHOLD, kb.confidence)
        )
        assert what_wins(floored, kb.confidence) == what_wins(exact, kb.confidence), text
        skipped["threshold or knowledge base"] += not floored[1].candidates
    assert skipped["threshold"] >= len(messages()) // 5  # many KB questions skip the ranking
    assert skipped["threshold or knowledge base"] > skipped["threshold"]


def test_a_question_about_a_topic_is_not_ranked_but_small_talk_and_handoffs_are(demo) -> None:  # type: ignore[no-untyped-def]
    index, intents = demo

    def floored(text: str) -> tuple:  # type: ignore[type-arg]
        kb_words = match(index, text).known_words
        return intents.match(text, kb_words=kb_words, floor=INTENT_THRESHOLD)

    intent, found = floored("как оплатить интернет банковской картой")
    assert intent is None and found.candidates == () and found.confidence == 0.0
    for text, expected in (("спасибо", "smalltalk"), ("позовите оператора", "handoff")):
        intent, found = floored(text)
        assert intent is not None and intent.kind == expected, text
        assert found.confidence >= INTENT_THRESHOLD
