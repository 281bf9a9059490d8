"""Turning normalized text into the sparse vectors the index compares.

Two views of the same text, stacked: stemmed words (with bigrams) carry meaning, character
n-grams carry typos and word forms the stemmer misses. Both are fitted once per index build.
"""

import itertools
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize as l2_normalize

from app.matching.normalize import Normalized

# Function words. A classifier learns how much they matter; plain retrieval over thin articles
# has only IDF, and there "how to get a promised payment" must not match "Getting a refund"
# on "get" and "a".
STOPWORDS = frozenset(
    """
    и в во на не что как я мне меня мой моя мое мои с со а но у к ко по из за от до для о об
    же ли бы это этот эта то та ты вы вас вам ваш ваша ваше он она они мы нас нам его ее их
    там тут так уже еще есть быть был была было можно нужно надо ну вот да или если чтобы
    когда где какой какая какие пожалуйста здравствуйте подскажите скажите хочу
    the a an of to in on at for by with from is are was were be been am i me my you your
    we our it its this that these those and or but if so do does did can could would should
    will shall please how what where when which there here get got want need
    """.split()
)


def word_features(normalized: Normalized, stopwords: frozenset[str] = frozenset()) -> list[str]:
    stems = [
        s for s, w in zip(normalized.stems, normalized.words, strict=True) if w not in stopwords
    ]
    if not stems:  # a message of function words only still has to match something
        stems = list(normalized.stems)
    return [*stems, *(f"{a}_{b}" for a, b in itertools.pairwise(stems))]


def _identity(features: list[str]) -> list[str]:
    return features


def _tfidf_row(vectorizer: TfidfVectorizer, tokens: Iterable[str]) -> tuple[np.ndarray, np.ndarray]:
    """One document through a fitted vectorizer (sublinear tf, idf, l2), as its transform does,
    without the input checks that cost a message more than the arithmetic."""
    vocabulary = vectorizer.vocabulary_
    counts = Counter(column for t in tokens if (column := vocabulary.get(t)) is not None)
    columns = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
    values = 1.0 + np.log(np.fromiter(counts.values(), dtype=np.float64, count=len(counts)))
    values *= vectorizer.idf_[columns]
    norm = np.sqrt(values @ values)
    return columns, values / norm if norm else values


@dataclass(frozen=True, slots=True)
class FeatureSpace:
    word: TfidfVectorizer
    char: TfidfVectorizer
    char_weight: float
    stopwords: frozenset[str]
    char_analyzer: Callable[[str], list[str]]

    @classmethod
    def fit(
        cls, texts: Sequence[Normalized], *, char_weight: float, drop_stopwords: bool
    ) -> "FeatureSpace":
        stopwords = STOPWORDS if drop_stopwords else frozenset()
        word = TfidfVectorizer(analyzer=_identity, sublinear_tf=True, dtype=np.float32)
        char = TfidfVectorizer(
            analyzer="char_wb",
            ngram_range=(2, 5),
            sublinear_tf=True,
            min_df=1,
            max_features=300_000,
            dtype=np.float32,
        )
        word.fit([word_features(t, stopwords) for t in texts])
        char.fit([t.text for t in texts])
        return cls(
            word=word,
            char=char,
            char_weight=char_weight,
            stopwords=stopwords,
            char_analyzer=char.build_analyzer(),
        )

    @property
    def width(self) -> int:
        return len(self.word.idf_) + len(self.char.idf_)

    def transform(self, texts: Sequence[Normalized]) -> sp.csr_matrix:
        if not texts:
            return sp.csr_matrix((0, self.width), dtype=np.float32)
        words = self.word.transform([word_features(t, self.stopwords) for t in texts])
        chars = self.char.transform([t.text for t in texts])
        stacked = sp.hstack([words, chars * self.char_weight], format="csr", dtype=np.float32)
        return l2_normalize(stacked, copy=False)

    def transform_one(self, text: Normalized) -> sp.csr_matrix:
        """The same vector as transform([text]), in a tenth of the time: one per message."""
        word_columns, word_values = _tfidf_row(self.word, word_features(text, self.stopwords))
        char_columns, char_values = _tfidf_row(self.char, self.char_analyzer(text.text))
        columns = np.concatenate([word_columns, char_columns + len(self.word.idf_)])
        values = np.concatenate([word_values, char_values * self.char_weight])
        order = np.argsort(columns)
        columns, values = columns[order], values[order]
        norm = np.sqrt(values @ values)
        if norm:
            values /= norm
        return sp.csr_matrix(
            (values.astype(np.float32), columns.astype(np.int32), np.array([0, len(values)])),
            shape=(1, self.width),
        )
