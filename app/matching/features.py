"""Turning normalized text into the sparse vectors the index compares.

Two views of the same text, stacked: stemmed words (with bigrams) carry meaning, character
n-grams carry typos and word forms the stemmer misses. Both are fitted once per index build.
"""

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize as l2_normalize

from app.matching.normalize import Normalized


def word_features(normalized: Normalized) -> list[str]:
    stems = normalized.stems
    return [*stems, *(f"{a}_{b}" for a, b in itertools.pairwise(stems))]


def _identity(features: list[str]) -> list[str]:
    return features


@dataclass(frozen=True, slots=True)
class FeatureSpace:
    word: TfidfVectorizer
    char: TfidfVectorizer
    char_weight: float

    @classmethod
    def fit(cls, texts: Sequence[Normalized], *, char_weight: float) -> "FeatureSpace":
        word = TfidfVectorizer(analyzer=_identity, sublinear_tf=True, dtype=np.float32)
        char = TfidfVectorizer(
            analyzer="char_wb",
            ngram_range=(2, 5),
            sublinear_tf=True,
            min_df=1,
            max_features=300_000,
            dtype=np.float32,
        )
        word.fit([word_features(t) for t in texts])
        char.fit([t.text for t in texts])
        return cls(word=word, char=char, char_weight=char_weight)

    def transform(self, texts: Sequence[Normalized]) -> sp.csr_matrix:
        words = self.word.transform([word_features(t) for t in texts])
        chars = self.char.transform([t.text for t in texts])
        stacked = sp.hstack([words, chars * self.char_weight], format="csr", dtype=np.float32)
        return l2_normalize(stacked, copy=False)
