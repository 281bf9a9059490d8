"""Finding the knowledge-base word a typo was meant to be, without comparing it to every word.

A large knowledge base knows tens of thousands of words, and scoring a typo against all of them
costs milliseconds a message. Two words close enough for the fuzzy cutoff must share most of
their letter pairs (one edit changes at most two of them), so only the words that share enough
pairs are scored; the result is the one a full comparison finds.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
from rapidfuzz import fuzz, process

MAX_LENGTH_CHANGE = 2  # a typo rarely changes a word's length by more than two letters


def is_cyrillic(ch: str) -> bool:
    return "\u0400" <= ch <= "\u04ff" and ch.isalpha()


def letter_pairs(word: str) -> set[str]:
    padded = f" {word} "
    return {padded[i : i + 2] for i in range(len(padded) - 1)}


class TypoIndex:
    """The words a typo may be corrected to, by the letter pairs each contains."""

    def __init__(self, words: Iterable[str]) -> None:
        # Ordered by script, length, then alphabet: ties in scoring go to the first.
        self.words = sorted(
            (w for w in set(words) if len(w) >= 2 and w.isalpha()),
            key=lambda w: (is_cyrillic(w[0]), len(w), w),
        )
        self._lengths = np.fromiter(map(len, self.words), dtype=np.int32, count=len(self.words))
        self._cyrillic = np.fromiter(
            (is_cyrillic(w[0]) for w in self.words), dtype=bool, count=len(self.words)
        )
        postings: dict[str, list[int]] = {}
        for number, word in enumerate(self.words):
            for pair in letter_pairs(word):
                postings.setdefault(pair, []).append(number)
        self._postings = {pair: np.asarray(ids, dtype=np.int32) for pair, ids in postings.items()}

    def closest(self, word: str, cutoff: float) -> tuple[str, float] | None:
        """The best word by fuzz.ratio at or above `cutoff`, among words of the same script
        whose length differs by at most two."""
        pairs = letter_pairs(word)
        longest = 2 * len(word) + MAX_LENGTH_CHANGE
        edits = math.floor((1 - cutoff / 100) * longest + 1e-9)  # Indel edits the cutoff allows
        needed = max(len(pairs) - 2 * edits, 1)
        hits = [self._postings[p] for p in pairs if p in self._postings]
        if not hits:
            return None
        shared = np.bincount(np.concatenate(hits), minlength=len(self.words))
        eligible = (
            (shared >= needed)
            & (np.abs(self._lengths - len(word)) <= MAX_LENGTH_CHANGE)
            & (self._cyrillic == is_cyrillic(word[0]))
        )
        candidates = [self.words[i] for i in np.flatnonzero(eligible)]
        hit = process.extractOne(word, candidates, scorer=fuzz.ratio, score_cutoff=cutoff)
        return (hit[0], hit[1]) if hit else None
