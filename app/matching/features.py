"""Turning normalized text into the sparse vectors the index compares.

Two views of the same text, stacked: stemmed words (with bigrams) carry meaning, character
n-grams carry typos and word forms the stemmer misses. Both are fitted once per index build.
"""

import itertools
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer, TfidfVectorizer
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


# Character n-grams within words: typos and word forms the stemmer misses.
CHAR_NGRAMS = (2, 5)


def word_features(normalized: Normalized, stopwords: frozenset[str] = frozenset()) -> list[str]:
    stems = [
        s for s, w in zip(normalized.stems, normalized.words, strict=True) if w not in stopwords
    ]
    if not stems:  # a message of function words only still has to match something
        stems = list(normalized.stems)
    return [*stems, *(f"{a}_{b}" for a, b in itertools.pairwise(stems))]


def _identity(features: list[str]) -> list[str]:
    return features


def _tfidf_row(
    vocabulary: Mapping[str, int], idf: np.ndarray, tokens: Iterable[str]
) -> tuple[np.ndarray, np.ndarray]:
    """One document through a fitted vocabulary (sublinear tf, idf, l2), as a vectorizer's
    transform does, without the input checks that cost a message more than the arithmetic."""
    counts = Counter(column for t in tokens if (column := vocabulary.get(t)) is not None)
    columns = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
    values = 1.0 + np.log(np.fromiter(counts.values(), dtype=np.float64, count=len(counts)))
    values *= idf[columns]
    norm = np.sqrt(values @ values)
    return columns, values / norm if norm else values


@dataclass(frozen=True, slots=True)
class CharNgrams:
    """Character n-grams within words (scikit-learn's char_wb) counted once per distinct word.

    A vectorizer cuts every occurrence of a word into n-grams again; text repeats its words, so
    a knowledge base of 100,000 articles has millions of words but few distinct ones. Counting
    texts x words, and words x n-grams once, gives the same counts as one sparse product.
    """

    tokens: CountVectorizer  # a distinct word -> its n-gram counts, over the fitted vocabulary
    idf: TfidfTransformer

    @classmethod
    def fit(cls, texts: Sequence[str], *, max_features: int) -> "CharNgrams":
        token_counts, tokens = _token_counts(texts)
        vectorizer = CountVectorizer(analyzer="char_wb", ngram_range=CHAR_NGRAMS, dtype=np.float32)
        counts = token_counts @ vectorizer.fit_transform(tokens)
        if counts.shape[1] > max_features:  # the most frequent n-grams, as max_features keeps
            totals = np.asarray(counts.sum(axis=0)).ravel()
            kept = np.sort((-totals).argsort()[:max_features])
            names = vectorizer.get_feature_names_out()[kept]
            vectorizer = CountVectorizer(
                analyzer="char_wb",
                ngram_range=CHAR_NGRAMS,
                dtype=np.float32,
                vocabulary=dict(zip(names, range(len(names)), strict=True)),
            ).fit(())  # a given vocabulary: fitting only installs it
            counts = counts[:, kept]
        return cls(tokens=vectorizer, idf=TfidfTransformer(sublinear_tf=True).fit(counts))

    @property
    def vocabulary(self) -> dict[str, int]:
        return self.tokens.vocabulary_

    @property
    def width(self) -> int:
        return len(self.idf.idf_)

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        token_counts, tokens = _token_counts(texts)
        counts = token_counts @ self.tokens.transform(tokens)
        counts.sort_indices()  # a product's are not; a vectorizer's are
        return self.idf.transform(counts).astype(np.float32)


def _token_counts(texts: Sequence[str]) -> tuple[sp.csr_matrix, list[str]]:
    """Texts x distinct whitespace-separated words (lowercased), as char_wb splits them."""
    ids: dict[str, int] = {}
    indices: list[int] = []
    indptr = [0]
    for text in texts:
        indices.extend([ids.setdefault(w, len(ids)) for w in text.lower().split()])
        indptr.append(len(indices))
    matrix = sp.csr_matrix(
        (np.ones(len(indices), dtype=np.float32), np.asarray(indices, dtype=np.int64), indptr),
        shape=(len(texts), len(ids)),
    )
    matrix.sum_duplicates()
    return matrix, list(ids)


@dataclass(frozen=True, slots=True)
class FeatureSpace:
    word: TfidfVectorizer
    char: CharNgrams
    char_weight: float
    stopwords: frozenset[str]
    char_analyzer: Callable[[str], list[str]]

    @classmethod
    def fit(
        cls, texts: Sequence[Normalized], *, char_weight: float, drop_stopwords: bool
    ) -> "FeatureSpace":
        stopwords = STOPWORDS if drop_stopwords else frozenset()
        word = TfidfVectorizer(analyzer=_identity, sublinear_tf=True, dtype=np.float32)
        word.fit([word_features(t, stopwords) for t in texts])
        char = CharNgrams.fit([t.text for t in texts], max_features=300_000)
        return cls(
            word=word,
            char=char,
            char_weight=char_weight,
            stopwords=stopwords,
            char_analyzer=char.tokens.build_analyzer(),
        )

    @property
    def width(self) -> int:
        return len(self.word.idf_) + self.char.width

    def transform(self, texts: Sequence[Normalized]) -> sp.csr_matrix:
        if not texts:
            return sp.csr_matrix((0, self.width), dtype=np.float32)
        words = self.word.transform([word_features(t, self.stopwords) for t in texts])
        chars = self.char.transform([t.text for t in texts])
        stacked = sp.hstack([words, chars * self.char_weight], format="csr", dtype=np.float32)
        return l2_normalize(stacked, copy=False)

    def transform_one(self, text: Normalized) -> sp.csr_matrix:
        """The same vector as transform([text]), in a tenth of the time: one per message."""
        word_columns, word_values = _tfidf_row(
            self.word.vocabulary_, self.word.idf_, word_features(text, self.stopwords)
        )
        char_columns, char_values = _tfidf_row(
            self.char.vocabulary, self.char.idf.idf_, self.char_analyzer(text.text)
        )
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
