"""Turning a customer message into the words the knowledge-base index knows.

Customers type Russian on the QWERTY layout ("ghbdtn"), English on the Russian one ("руддщ"),
translit ("kak oplatit"), typos, ё/е, emoji and CAPS. Each whitespace chunk is read several ways
(as typed, other layout, translit) and the reading that yields known words wins; when nothing is
known, small frequent-word lists and letter-bigram models decide, so an empty vocabulary works.
"""

from __future__ import annotations

import re
import sys
import threading
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache

import snowballstemmer

from app.matching import text_data as td
from app.matching.spelling import TypoIndex, is_cyrillic

WORD = re.compile(r"[^\W_]+")
_URL = re.compile(r"@|://|^www\.|\.(?:com|ru|net|org|io|info|biz|su|рф|app|me)(?:/|$)")
# English never puts these between letters; Russian typed on QWERTY does (ж х ъ е).
_KEY_INSIDE_WORD = re.compile(r"[a-z][;\[\]`{}:~][a-z]")
_FREQUENT = td.RU_FREQUENT | td.EN_FREQUENT
_KNOWN, _STEM_KNOWN, _COMMON = 5.0, 4.0, 3.0  # word scores; plausibility stays within [-2, 1]
_CLEAR = 1.0  # a reading must beat another by this much to count as evidence
_FUZZY_CUTOFF = 85.0  # fuzz.ratio; short words need 88 (one insertion or deletion)
_FUZZY_SHORT_CUTOFF = 88.0
_FUZZY_NEW_INITIAL = 92.0  # typos rarely hit the first letter; "побыстрее" is not "быстрее"
_MAX_PASSES = 3
_CACHE_LIMIT = 50_000


@dataclass(frozen=True, slots=True)
class Normalized:
    text: str
    words: tuple[str, ...]
    stems: tuple[str, ...]
    language: str | None
    conversions: tuple[tuple[str, str], ...]


def fold(text: str) -> str:
    """NFKC twice because casefold can produce sequences NFKC would rewrite again."""
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
    return folded.replace("ё", "е")


def layout_to_ru(text: str) -> str:
    return text.translate(td.TO_RU)


def layout_to_en(text: str) -> str:
    return text.translate(td.TO_EN)


def _is_latin(ch: str) -> bool:
    return ch.isalpha() and (ch.isascii() or "\u00c0" <= ch <= "\u024f")


def _letters_where(predicate: Callable[[str], bool], last: int) -> re.Pattern[str]:
    """A character class of exactly the characters up to `last` that `predicate` accepts: a
    regex counts them in C, where a loop over the text called the predicate per character."""
    return re.compile(
        "[" + "".join(re.escape(chr(c)) for c in range(last + 1) if predicate(chr(c))) + "]"
    )


_CYRILLIC_LETTER = _letters_where(is_cyrillic, 0x04FF)
_LATIN_LETTER = _letters_where(_is_latin, 0x024F)


def detect_language(text: str) -> str | None:
    cyrillic = len(_CYRILLIC_LETTER.findall(text))
    latin = len(_LATIN_LETTER.findall(text))
    if not cyrillic and not latin:
        return None
    return "ru" if cyrillic >= latin else "en"


def translit_to_ru(word: str) -> str:
    return td.transliterate(fold(word))


_STEMMERS = {"ru": snowballstemmer.stemmer("russian"), "en": snowballstemmer.stemmer("english")}
_STEM_LOCK = threading.Lock()  # Snowball stemmers keep per-call state; requests run in threads


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    language = detect_language(word)
    if language is None:
        return word
    with _STEM_LOCK:
        return _STEMMERS[language].stemWord(word)


@lru_cache(maxsize=100_000)
def _plausibility(word: str) -> float:
    """Log-likelihood ratio per bigram: typed on purpose versus typed on the other layout."""
    if any(is_cyrillic(ch) for ch in word):
        ratio = td.RU_BIGRAMS.score(word) - td.EN_ON_RU_BIGRAMS.score(word)
    else:
        ratio = td.EN_BIGRAMS.score(word) - td.RU_ON_EN_BIGRAMS.score(word)
    return max(-2.0, min(1.0, ratio / (len(word) + 1)))


_Reading = tuple[tuple[str, ...], float]


@dataclass(slots=True)
class _Chunk:
    raw: str
    readings: dict[str, _Reading]  # "asis" plus zero or more of "layout", "translit", "en"
    cyrillic: bool = False
    _vote: str | None = field(default=None, repr=False, compare=False)

    def vote(self) -> str:
        """Which reading this chunk alone clearly supports ("" when unclear)."""
        if self._vote is None:  # chunks are cached and shared: decide once
            self._vote = self._decide_vote()
        return self._vote

    def _decide_vote(self) -> str:
        asis = self.readings["asis"][1]
        others = [(score, name) for name, (_, score) in self.readings.items() if name != "asis"]
        if not others:
            return ""
        best, name = max(others, key=lambda item: item[0])
        letters = sum(ch.isalpha() for ch in self.raw)
        # Cyrillic text is only re-read as English when that gives known words.
        trusted = not self.cyrillic or (best >= _COMMON and asis <= 0)
        if trusted and best >= asis + _CLEAR and letters >= (3 if self.cyrillic else 2):
            return name
        return "asis" if asis >= best + _CLEAR else ""

    def choose(self, mode: str) -> str:
        """The chunk's own vote first; else the message's mode unless that reading looks wrong."""
        vote, asis = self.vote(), self.readings["asis"][1]
        if mode not in self.readings:
            # Without a message-wide mode, "start" in English stays even if "старт" is known.
            return vote if vote and (asis < 0 or self.cyrillic) else "asis"
        converted = self.readings[mode][1]
        if vote:
            return mode if vote != "asis" and converted >= self.readings[vote][1] else vote
        if self.cyrillic:
            return mode if asis < 0 < converted else "asis"
        # A tie between two known words goes the message's way ("to" in translit is "то").
        if (asis >= _COMMON and asis > converted) or converted < 0 < asis:
            return "asis"
        return mode


def _message_mode(chunks: list[_Chunk], cyrillic: bool) -> str:
    """A message is usually typed in one way throughout, so clear chunks decide for unclear ones."""
    votes = dict.fromkeys(("", "asis", "layout", "translit", "en"), 0)  # a Counter cost more
    for chunk in chunks:
        if chunk.cyrillic == cyrillic and len(chunk.readings) > 1:
            votes[chunk.vote()] += 1
    top = max(votes["layout"], votes["translit"], votes["en"])
    for mode in ("layout", "translit", "en"):  # layout wins a tie: it is the more specific signal
        if votes[mode] == top > votes["asis"]:
            return mode
    return ""


def _prepare_synonyms(synonyms: Mapping[str, str]) -> dict[str, tuple[str, ...]]:
    """Fold keys and values and resolve chains (a→b, b→c) so one lookup is final."""
    raw: dict[str, tuple[str, ...]] = {}
    for key, value in synonyms.items():
        keys = WORD.findall(fold(key))
        if len(keys) == 1 and (words := tuple(WORD.findall(fold(value)))) != (keys[0],):
            raw[keys[0]] = words

    def expand(word: str, seen: frozenset[str]) -> tuple[str, ...]:
        if word not in raw or word in seen:
            return (word,)
        return tuple(w for part in raw[word] for w in expand(part, seen | {word}))

    return {key: expand(key, frozenset()) for key in raw}


def _spelling_variants(word: str) -> list[str]:
    """Translit writers drop soft signs and write "i" for й; offer those spellings too."""
    variants = [word]
    if word[-1:] in td.RU_CONSONANTS and word[-1] != "й":
        variants.append(word + "ь")
    softened = re.sub("([аеиоуыэюя])и", r"\1й", word)
    if softened != word:
        variants.append(softened)
    return variants


class Normalizer:
    """Turns a customer message into the words the index knows."""

    def __init__(
        self, vocabulary: Iterable[str] = (), synonyms: Mapping[str, str] | None = None
    ) -> None:
        self._synonym_source = dict(synonyms or {})
        self._synonyms = _prepare_synonyms(self._synonym_source)
        words: set[str] = set()
        for item in vocabulary:
            for word in WORD.findall(fold(item)):
                words.update(self._synonyms.get(word, (word,)))
        for replacement in self._synonyms.values():
            words.update(replacement)
        self.vocabulary: frozenset[str] = frozenset(words)
        self._known = self.vocabulary | self._synonyms.keys()
        self._known_stems = frozenset(stem(w) for w in self._known)
        self._typos = TypoIndex(self._known)
        self._scores: dict[str, float] = {}
        self._fixes: dict[str, str] = {}
        # A chunk's readings depend only on the chunk and this normalizer's vocabulary, and KB
        # text repeats its words endlessly: reading each distinct chunk once makes index builds
        # an order of magnitude faster.
        self._chunks: dict[str, _Chunk] = {}

    @property
    def synonyms(self) -> dict[str, str]:
        return dict(self._synonym_source)

    def with_vocabulary(self, vocabulary: Iterable[str]) -> Normalizer:
        return Normalizer(vocabulary, self._synonym_source)

    def normalize(self, text: str) -> Normalized:
        """Repeats the pass until stable so normalizing normalized text changes nothing."""
        folded = fold(text.replace("№", " "))  # NFKC turns № into "no"
        words, conversions = self._pass(folded)
        # A pass that kept every chunk as it was would, run again, read the same chunks again.
        for _ in range(_MAX_PASSES - 1 if words != folded.split() else 0):
            again, more = self._pass(" ".join(words))
            if again == words:
                break
            words, conversions = again, conversions + more
        joined = " ".join(words)
        return Normalized(
            text=joined,
            words=tuple(words),
            stems=tuple(stem(w) for w in words),
            language=detect_language(joined),
            conversions=tuple(conversions),
        )

    def normalize_document(self, text: str) -> Normalized:
        """Knowledge-base text is written on purpose: no layout, translit or typo guesses, only
        folding, synonyms and stems, so building an index is fast and never rewrites an article."""
        # Interned: a large knowledge base repeats a few thousand words millions of times.
        words = [
            sys.intern(w)
            for word in WORD.findall(fold(text.replace("№", " ")))
            for w in self._synonyms.get(word, (word,))
        ]
        return Normalized(
            text=" ".join(words),
            words=tuple(words),
            stems=tuple(stem(w) for w in words),
            language=None,  # an article states its language; detecting it per row cost 10%
            conversions=(),
        )

    def _pass(self, folded: str) -> tuple[list[str], list[tuple[str, str]]]:
        chunks = [self._read(raw) for raw in folded.split()]
        modes = {flag: _message_mode(chunks, flag) for flag in (False, True)}
        words: list[str] = []
        conversions: list[tuple[str, str]] = []
        for chunk in chunks:
            choice = chunk.choose(modes[chunk.cyrillic])
            converted = chunk.readings[choice][0]
            if choice != "asis":
                conversions.append((chunk.raw, " ".join(converted)))
            for word in converted:
                fixed = self._correct(word)
                if fixed != word:
                    conversions.append((word, fixed))
                replacement = self._synonyms.get(fixed, (fixed,))
                if replacement != (fixed,):
                    conversions.append((fixed, " ".join(replacement)))
                words.extend(replacement)
        return words, conversions

    def _read(self, raw: str) -> _Chunk:
        chunk = self._chunks.get(raw)
        if chunk is None:
            if len(self._chunks) > _CACHE_LIMIT:
                self._chunks.clear()
            chunk = self._chunks[raw] = self._read_uncached(raw)
        return chunk

    def _read_uncached(self, raw: str) -> _Chunk:
        """Collects the plausible readings of one chunk; links, numbers and mixed scripts stay."""
        chunk = _Chunk(raw, {"asis": self._reading(raw)})
        letters = [ch for ch in raw if ch.isalpha()]
        if not letters or any(ch.isdigit() for ch in raw) or _URL.search(raw):
            return chunk
        if all(map(_is_latin, letters)):
            chunk.readings["layout"] = self._layout_reading(raw)  # first: it wins ties
            chunk.readings["translit"] = self._translit_reading(raw)
            if _KEY_INSIDE_WORD.search(raw):
                for name, (words, score) in list(chunk.readings.items()):
                    if name != "layout":
                        chunk.readings[name] = words, score - 2.0
        elif all(map(is_cyrillic, letters)):
            chunk.cyrillic = True
            chunk.readings["en"] = self._reading(fold(layout_to_en(raw)))
        return chunk

    def _reading(self, text: str) -> _Reading:
        words = tuple(WORD.findall(text))
        return words, self._score(words)

    def _score(self, words: tuple[str, ...]) -> float:
        """Letter-weighted mean, so splitting a chunk into stray one-letter words earns nothing."""
        letters = sum(map(len, words))
        return sum(self._word_score(w) * len(w) for w in words) / letters if letters else 0.0

    def _layout_reading(self, raw: str) -> _Reading:
        """Trailing , . ' " may be punctuation or the letters б ю э; try both."""
        trimmed = raw.rstrip(".,'\"")
        variants = dict.fromkeys((trimmed, raw, trimmed.lstrip("'\"")))
        readings = [self._reading(fold(layout_to_ru(v))) for v in variants if v]
        return max(readings, key=lambda reading: reading[1], default=((), 0.0))

    def _translit_reading(self, raw: str) -> _Reading:
        spellings = [
            WORD.findall(td.transliterate(raw, ia, e)) for ia in ("я", "ия") for e in ("е", "э")
        ]
        if any(len(s) != len(spellings[0]) for s in spellings):
            return self._reading(" ".join(spellings[0]))
        words = tuple(self._best_spelling(options) for options in zip(*spellings, strict=True))
        return words, self._score(words)

    def _best_spelling(self, options: tuple[str, ...]) -> str:
        candidates = dict.fromkeys(v for option in options for v in _spelling_variants(option))
        best = max(candidates, key=self._word_score)
        return best if self._word_score(best) >= _COMMON else options[0]

    def _word_score(self, word: str) -> float:
        score = self._scores.get(word)
        if score is None:
            if len(word) < 2 or not any(ch.isalpha() for ch in word):
                score = 0.0 if word not in _FREQUENT else _COMMON
            elif word in self._known:
                score = _KNOWN
            elif stem(word) in self._known_stems:
                score = _STEM_KNOWN
            else:
                score = _COMMON if word in _FREQUENT else _plausibility(word)
            if len(self._scores) > _CACHE_LIMIT:
                self._scores.clear()
            self._scores[word] = score
        return score

    def _correct(self, word: str) -> str:
        """Fuzzy-matches unknown words against the vocabulary; known and common words stay."""
        if len(word) < 4 or not word.isalpha() or word in self._known or word in _FREQUENT:
            return word
        fixed = self._fixes.get(word)
        if fixed is None:
            fixed = word
            if stem(word) not in self._known_stems:
                cutoff = _FUZZY_SHORT_CUTOFF if len(word) <= 5 else _FUZZY_CUTOFF
                hit = self._typos.closest(word, cutoff)
                if hit and (hit[0][0] == word[0] or hit[1] >= _FUZZY_NEW_INITIAL):
                    fixed = hit[0]
            if len(self._fixes) > _CACHE_LIMIT:
                self._fixes.clear()
            self._fixes[word] = fixed
        return fixed
