"""Turning normalized text into the sparse vectors the index compares.

Two views of the same text, stacked: stemmed words (with bigrams) carry meaning, character
n-grams carry typos and word forms the stemmer misses. Both are fitted once per index build.
"""

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer
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
WORD_CACHE_LIMIT = 50_000  # distinct words whose n-gram columns a space keeps at hand
_NO_COLUMNS = np.zeros(0, dtype=np.int64)


def word_features(normalized: Normalized, stopwords: frozenset[str] = frozenset()) -> list[str]:
    """The word features of a text by name: its stems, then each pair of consecutive stems
    (WordTerms numbers them instead)."""
    stems = _kept_stems(normalized, stopwords)
    return [*stems, *(f"{a}_{b}" for a, b in itertools.pairwise(stems))]


def _kept_stems(normalized: Normalized, stopwords: frozenset[str]) -> Sequence[str]:
    if not stopwords:
        return normalized.stems
    kept = [
        s for s, w in zip(normalized.stems, normalized.words, strict=True) if w not in stopwords
    ]
    return kept or normalized.stems  # a message of function words only still has to match


@dataclass(frozen=True, slots=True)
class WordTerms:
    """Stems and pairs of consecutive stems, tf-idf weighted (sublinear tf, smooth idf, l2):
    what a TfidfVectorizer over word_features gives, with each pair a number instead of a
    string. A knowledge base of 100,000 articles has millions of distinct pairs; as strings
    in a vocabulary they took more memory, and more time to count, than the rest of the index.

    A term's code is a stem's id, or (first + 1) * len(stems) + second for a pair; the columns
    are the codes in ascending order.
    """

    stems: dict[str, int]
    codes: np.ndarray  # int64, ascending
    idf: np.ndarray
    stopwords: frozenset[str]

    @classmethod
    def fit(
        cls,
        texts: Sequence[Normalized],
        *,
        stopwords: frozenset[str],
        documents: np.ndarray | None = None,
    ) -> "WordTerms":
        """`documents` (one per text) makes the texts of one document count once in a term's
        document frequency: an article's rows and body are one document."""
        documents = np.arange(len(texts)) if documents is None else np.asarray(documents)
        order = np.argsort(documents, kind="stable")  # a document's texts together
        stems: dict[str, int] = {}
        ids, starts = _stem_ids([texts[i] for i in order], stopwords, stems, grow=True)
        span = (len(stems) + 1) * max(len(stems), 1)  # every code is below it
        owners = documents[order]
        chunks = [(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))]
        for first, last in _document_chunks(owners, max(1, min(FIT_DOCUMENTS, 2**62 // span))):
            codes, text_of = _term_codes(
                ids[starts[first] : starts[last]],
                starts[first : last + 1] - starts[first],
                len(stems),
            )
            owner = owners[first:last][text_of] - owners[first]
            distinct = np.unique(owner * span + codes) % span  # each (document, term) once
            chunks.append(np.unique(distinct, return_counts=True))
        codes, inverse = np.unique(np.concatenate([c for c, _ in chunks]), return_inverse=True)
        df = np.bincount(inverse, weights=np.concatenate([n for _, n in chunks]))
        n_documents = len(np.unique(documents))
        idf = (np.log((1 + n_documents) / (1 + df)) + 1).astype(np.float32)
        return cls(stems=stems, codes=codes, idf=idf, stopwords=stopwords)

    @property
    def width(self) -> int:
        return len(self.codes)

    def transform(self, texts: Sequence[Normalized]) -> sp.csr_matrix:
        ids, starts = _stem_ids(texts, self.stopwords, self.stems, grow=False)
        codes, text_of = _term_codes(ids, starts, len(self.stems))
        columns, known = self._columns(codes)
        counts = sp.csr_matrix(
            (np.ones(int(known.sum()), dtype=np.float32), (text_of[known], columns[known])),
            shape=(len(texts), self.width),
        )
        counts.sum_duplicates()
        counts.data = (1.0 + np.log(counts.data)) * self.idf[counts.indices]
        return l2_normalize(counts, copy=False) if self.width else counts

    def transform_one(self, text: Normalized) -> tuple[np.ndarray, np.ndarray]:
        """One message's columns and tf-idf values, without building a matrix."""
        ids = [self.stems.get(s, -1) for s in _kept_stems(text, self.stopwords)]
        width = len(self.stems)
        codes = [i for i in ids if i >= 0]
        codes += [(a + 1) * width + b for a, b in itertools.pairwise(ids) if a >= 0 and b >= 0]
        columns, known = self._columns(np.asarray(codes, dtype=np.int64))
        columns, counts = np.unique(columns[known], return_counts=True)
        return columns, _tfidf_values(columns, counts, self.idf)

    def feature_names(self) -> list[str]:
        """Each column as word_features names it."""
        by_id = list(self.stems)
        width = len(by_id)
        return [
            by_id[c] if c < width else f"{by_id[c // width - 1]}_{by_id[c % width]}"
            for c in self.codes.tolist()
        ]

    def _columns(self, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        columns = np.minimum(np.searchsorted(self.codes, codes), max(self.width - 1, 0))
        known = self.codes[columns] == codes if self.width else np.zeros(len(codes), dtype=bool)
        return columns, known


FIT_DOCUMENTS = 20_000  # documents counted at once while fitting: bounds the memory it takes


def _stem_ids(
    texts: Sequence[Normalized], stopwords: frozenset[str], stems: dict[str, int], *, grow: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Every text's kept stems as ids, one flat array, and where each text starts in it (-1
    for a stem the fitted vocabulary lacks)."""
    lengths = [0]
    parts: list[np.ndarray] = []
    batch: list[int] = []
    for text in texts:
        kept = _kept_stems(text, stopwords)
        if grow:
            batch.extend([stems.setdefault(s, len(stems)) for s in kept])
        else:
            batch.extend([stems.get(s, -1) for s in kept])
        lengths.append(len(kept))
        if len(batch) > 1_000_000:  # a flat array, not a list of millions of references
            parts.append(np.asarray(batch, dtype=np.int32))
            batch = []
    parts.append(np.asarray(batch, dtype=np.int32))
    return np.concatenate(parts), np.cumsum(lengths, dtype=np.int64)


def _term_codes(ids: np.ndarray, starts: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    """The codes of the stems and consecutive pairs in flat stem ids, and whose text each is."""
    text_of = np.repeat(np.arange(len(starts) - 1), np.diff(starts))
    known = ids >= 0
    pair = (text_of[1:] == text_of[:-1]) & known[1:] & known[:-1]
    first, second = ids[:-1][pair].astype(np.int64), ids[1:][pair]
    codes = np.concatenate([ids[known].astype(np.int64), (first + 1) * width + second])
    return codes, np.concatenate([text_of[known], text_of[:-1][pair]])


def _document_chunks(owners: np.ndarray, size: int) -> list[tuple[int, int]]:
    """Ranges of texts, sorted by document, of about `size` documents each, never splitting one."""
    if not len(owners):
        return []
    cuts = np.searchsorted(owners, np.arange(owners[0], owners[-1] + size, size))
    bounds = [int(c) for c in np.unique(np.r_[cuts, len(owners)])]
    return list(itertools.pairwise(bounds))


def _tfidf_values(columns: np.ndarray, counts: np.ndarray, idf: np.ndarray) -> np.ndarray:
    """One document's weights from its term counts: sublinear tf times idf, l2-normalized."""
    values = (1.0 + np.log(counts)) * idf[columns]
    norm = np.sqrt(values @ values)
    return values / norm if norm else values


@dataclass(frozen=True, slots=True)
class CharNgrams:
    """Character n-grams within words (scikit-learn's char_wb) counted once per distinct word.

    A vectorizer cuts every occurrence of a word into n-grams again; text repeats its words, so
    a knowledge base of 100,000 articles has millions of words but few distinct ones. Counting
    texts x words, and words x n-grams once, gives the same counts as one sparse product.
    """

    tokens: CountVectorizer  # a distinct word -> its n-gram counts, over the fitted vocabulary
    idf: TfidfTransformer
    # While an index is built: the n-gram counts of every word the fit saw, so that the build's
    # transforms (a segment at a time, each with most of the vocabulary) look them up instead
    # of cutting the same words again, a tenth of a large build. Dropped after (without_fitted).
    fitted: "FittedWords | None" = None

    @classmethod
    def fit(
        cls, texts: Sequence[str], *, max_features: int, documents: np.ndarray | None = None
    ) -> "CharNgrams":
        """`documents` as for WordTerms.fit: a document's texts count as one text."""
        token_counts, tokens = _token_counts(texts)
        if documents is not None:
            token_counts = _texts_by_document(documents) @ token_counts
        vectorizer = CountVectorizer(analyzer="char_wb", ngram_range=CHAR_NGRAMS, dtype=np.float32)
        ngrams = vectorizer.fit_transform(tokens)
        counts = token_counts @ ngrams
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
            counts, ngrams = counts[:, kept], ngrams[:, kept]
        return cls(
            tokens=vectorizer,
            idf=TfidfTransformer(sublinear_tf=True).fit(counts),
            fitted=FittedWords(tokens, ngrams.tocsr()),
        )

    def without_fitted(self) -> "CharNgrams":
        return replace(self, fitted=None)

    @property
    def vocabulary(self) -> dict[str, int]:
        return self.tokens.vocabulary_

    @property
    def width(self) -> int:
        return len(self.idf.idf_)

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        token_counts, tokens = _token_counts(texts)
        counts = token_counts @ self._ngram_counts(tokens)
        counts.sort_indices()  # a product's are not; a vectorizer's are
        return self.idf.transform(counts).astype(np.float32)

    def _ngram_counts(self, tokens: dict[str, int]) -> sp.csr_matrix:
        """Distinct words x their n-gram counts: looked up while the fit's are at hand."""
        if self.fitted is not None:
            rows = [self.fitted.ids.get(t, -1) for t in tokens]
            if -1 not in rows:
                return self.fitted.ngrams[rows]
        return self.tokens.transform(tokens)


@dataclass(frozen=True, slots=True)
class FittedWords:
    """The distinct words a CharNgrams fit saw, and their n-gram counts (words x n-grams)."""

    ids: dict[str, int]
    ngrams: sp.csr_matrix


def _token_counts(texts: Sequence[str]) -> tuple[sp.csr_matrix, dict[str, int]]:
    """Texts x distinct whitespace-separated words (lowercased), as char_wb splits them, and
    each word's column (the dict iterates the words in column order)."""
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
    return matrix, ids


def _texts_by_document(documents: np.ndarray) -> sp.csr_matrix:
    """Documents x texts, 1 where a text belongs to a document."""
    _, owner = np.unique(documents, return_inverse=True)
    return sp.csr_matrix(
        (np.ones(len(owner), dtype=np.float32), (owner, np.arange(len(owner)))),
        shape=(int(owner.max(initial=-1)) + 1, len(owner)),
    )


@dataclass(frozen=True, slots=True)
class FeatureSpace:
    word: WordTerms
    char: CharNgrams
    char_weight: float
    char_analyzer: Callable[[str], list[str]]
    # A word's character n-gram columns, with repeats. char_wb cuts each word alone, and
    # customers' words repeat: looking them up is most of what vectorizing a message cost.
    _word_ngrams: dict[str, np.ndarray] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def fit(
        cls,
        texts: Sequence[Normalized],
        *,
        char_weight: float,
        drop_stopwords: bool,
        documents: np.ndarray | None = None,
    ) -> "FeatureSpace":
        """`documents`, one per text, counts each document's texts once for IDF."""
        word = WordTerms.fit(
            texts, stopwords=STOPWORDS if drop_stopwords else frozenset(), documents=documents
        )
        char = CharNgrams.fit([t.text for t in texts], max_features=300_000, documents=documents)
        return cls(
            word=word,
            char=char,
            char_weight=char_weight,
            char_analyzer=char.tokens.build_analyzer(),
        )

    @property
    def width(self) -> int:
        return self.word.width + self.char.width

    def without_fitted(self) -> "FeatureSpace":
        """This space without what only its build needs (CharNgrams.fitted)."""
        return replace(self, char=self.char.without_fitted())

    def transform(self, texts: Sequence[Normalized]) -> sp.csr_matrix:
        if not texts:
            return sp.csr_matrix((0, self.width), dtype=np.float32)
        words = self.word.transform(texts)
        chars = self.char.transform([t.text for t in texts])
        stacked = sp.hstack([words, chars * self.char_weight], format="csr", dtype=np.float32)
        return l2_normalize(stacked, copy=False)

    def transform_one(self, text: Normalized) -> "QueryVector":
        """The same vector as transform([text]), in a tenth of the time: one per message."""
        word_columns, word_values = self.word.transform_one(text)
        char_columns, char_counts = np.unique(
            np.concatenate([self._ngram_columns(w) for w in text.words] or [_NO_COLUMNS]),
            return_counts=True,
        )
        char_values = _tfidf_values(char_columns, char_counts, self.char.idf.idf_)
        # Both parts come ascending from np.unique, the character columns after the words'.
        columns = np.concatenate([word_columns, char_columns + self.word.width])
        values = np.concatenate([word_values, char_values * self.char_weight])
        norm = np.sqrt(values @ values)
        if norm:
            values /= norm
        return QueryVector(columns.astype(np.int32), values.astype(np.float32), self.width)

    def _ngram_columns(self, word: str) -> np.ndarray:
        columns = self._word_ngrams.get(word)
        if columns is None:
            vocabulary = self.char.vocabulary
            found = [c for g in self.char_analyzer(word) if (c := vocabulary.get(g)) is not None]
            columns = np.array(found, dtype=np.int64)
            if len(self._word_ngrams) >= WORD_CACHE_LIMIT:
                self._word_ngrams.clear()
            self._word_ngrams[word] = columns
        return columns


@dataclass(frozen=True, slots=True)
class QueryVector:
    """One message's row of the feature space: its nonzero columns, ascending, and their
    values. What ranking reads of it; a scipy matrix of one row cost more to build (about
    35 microseconds, twice per message) than the products it took part in."""

    indices: np.ndarray  # int32
    data: np.ndarray  # float32, of unit length unless empty
    width: int

    @property
    def nnz(self) -> int:
        return len(self.data)

    def to_csr(self) -> sp.csr_matrix:
        return sp.csr_matrix(
            (self.data, self.indices, np.array([0, self.nnz])), shape=(1, self.width)
        )
