"""Small talk and handoff intents, matched with the same engine as the knowledge base."""

import random
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import yaml

from app.matching.engine import match, no_match
from app.matching.features import STOPWORDS
from app.matching.index import IndexConfig, SearchIndex
from app.matching.types import ArticleDoc, Match


@dataclass(frozen=True, slots=True)
class Intent:
    name: str
    kind: str  # smalltalk or handoff
    examples: dict[str, tuple[str, ...]]
    replies: dict[str, tuple[str, ...]]
    keywords: tuple[str, ...] = ()

    def reply(self, language: str | None, default_language: str = "en") -> str:
        options = self.replies.get(language or default_language) or self.replies.get(
            default_language
        )
        if not options:
            options = next(iter(self.replies.values()), ("",))
        return random.choice(options)


def load_intents(directory: str | Path) -> list[Intent]:
    intents = []
    for path in sorted(Path(directory).glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        intents.append(
            Intent(
                name=str(data.get("name", path.stem)),
                kind=str(data.get("kind", "smalltalk")),
                examples={k: tuple(v or ()) for k, v in (data.get("examples") or {}).items()},
                replies={k: tuple(v or ()) for k, v in (data.get("replies") or {}).items()},
                keywords=tuple(
                    str(word) for words in (data.get("keywords") or {}).values() for word in words
                ),
            )
        )
    return intents


# The confidence a keyword hit lends an intent (still weighed against the knowledge base).
KEYWORD_CONFIDENCE = 0.85


class IntentMatcher:
    """One small index over all intents: a document per intent and language.

    Examples teach the classifier; keywords are a safety net for the intents that must never be
    missed (a request for a person): a message that names one is taken as that intent.
    """

    def __init__(self, intents: list[Intent]) -> None:
        self.intents = {intent.name: intent for intent in intents}
        docs = [
            ArticleDoc(
                id=f"{intent.name}:{language}",
                language=language,
                title=examples[0],
                questions=tuple(examples[1:]),
            )
            for intent in intents
            for language, examples in intent.examples.items()
            if examples
        ]
        # Intents are short phrases: no body, and a classifier over many examples works well.
        self.index = SearchIndex.build(docs, config=IndexConfig(classifier="auto"))
        normalize = self.index.normalizer.normalize
        self._keywords = {
            intent.name: frozenset(w for word in intent.keywords for w in normalize(word).words)
            for intent in intents
            if intent.keywords
        }

    def match(
        self,
        text: str,
        *,
        language: str | None = None,
        kb_words: Sequence[str] = (),
        floor: float = 0.0,
    ) -> tuple[Intent | None, Match]:
        """`kb_words`: the message's words the knowledge base knows (Match.known_words).
        `floor`: the confidence below which the caller ignores an intent; a message whose
        topic words keep every intent below it is not ranked at all."""
        normalized = self.index.normalizer.normalize(text)
        words = normalized.words
        result = None
        hit = next((n for n, keys in self._keywords.items() if not keys.isdisjoint(words)), None)
        if hit is not None:
            result = match(self.index, text, language=language, top=1, normalized=normalized)
            if result.confidence < KEYWORD_CONFIDENCE:
                return self.intents[hit], replace(result, confidence=KEYWORD_CONFIDENCE)
        topic = [w for w in kb_words if w not in self.index.word_counts and w not in STOPWORDS]
        # "нет интернета" is not a "no": words the knowledge base knows and the intents do not
        # say what the message is about. Unknown words ("thanks a bunch") do not. A request
        # for a person that names its topic is still one: keywords catch it.
        coverage = 1 - len(topic) / max(len(words), len(kb_words)) if topic else 1.0
        if coverage < floor:  # a confidence is at most 1: no intent can reach the floor
            return None, no_match(self.index, normalized, language)
        result = result or match(self.index, text, language=language, top=1, normalized=normalized)
        if result.top is None:
            return None, result
        intent = self.intents[result.top.article_id.split(":", 1)[0]]
        if topic:
            result = replace(result, confidence=round(result.confidence * coverage, 4))
        return intent, result

    @classmethod
    def from_directory(cls, directory: str | Path) -> "IntentMatcher":
        return cls(load_intents(directory) if directory and Path(directory).is_dir() else [])
