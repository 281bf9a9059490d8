"""The immutable search index built from a snapshot of published articles.

Like a fitted scikit-learn estimator, an index is built once and only read afterwards; a
knowledge-base change builds a new one that replaces the old reference whole.
"""

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from rapidfuzz import fuzz
from scipy.sparse import _sparsetools  # the C kernels behind scipy.sparse: see _postings_sum

from app.matching.calibration import Calibrator, fit_calibrator
from app.matching.classifier import PhrasingClassifier
from app.matching.features import FeatureSpace, QueryVector
from app.matching.normalize import Normalized, Normalizer, fold, stem
from app.matching.types import ArticleDoc, Candidate

WORD = re.compile(r"[^\W_]+")
BODY_CHARS = 3000  # the opening of a long body says what it is about; the rest adds noise
MIN_QUERY_FEATURES = 8  # however common, a query keeps its rarest few features


@dataclass(frozen=True, slots=True)
class IndexConfig:
    body_weight: float = 0.75
    body_bonus: float = 0.4
    passage_weight: float = 0.85
    max_passages: int = 20
    char_weight: float = 1.0
    classifier: str = "auto"  # auto, always or never
    classifier_weight: float = 0.9
    fuzzy_weight: float = 0.1
    other_language_factor: float = 0.85
    shortlist: int = 8
    max_calibration_queries: int = 1500
    segment_articles: int = 10_000
    # Postings a query may add up per matrix. Past it, the features in the most rows (common
    # character n-grams, worth little each) are left out, rarest kept first. Calibration
    # scores the same way, so confidences stay calibrated; small KBs never reach it.
    max_postings: int = 2_000_000


@dataclass(frozen=True, slots=True)
class Ranking:
    """Scores for one query: the short list, best first, and what the calibrator reads."""

    article_rows: np.ndarray  # article positions, best first
    scores: np.ndarray  # final scores, aligned with article_rows
    retrieval: np.ndarray  # retrieval similarity of each short-listed article
    classifier: np.ndarray  # classifier probability of each (zeros without a classifier)
    fuzzy: np.ndarray
    # How far the classifier's raw margin for the top article clears every other article's
    # (negative when it prefers another; 0 without a classifier). A softmax hides this gap.
    classifier_gap: float
    best_rows: np.ndarray  # the phrasing row that matched best, per short-listed article


@dataclass(frozen=True, slots=True)
class Segment:
    """Some articles' rows and bodies, stored feature-major: a query's few non-zero features
    then select the few postings to add up, an order of magnitude faster than multiplying
    every row by the query. A full build makes one segment; a patch appends one."""

    phrasings: sp.csr_matrix  # features x rows
    bodies: sp.csr_matrix  # features x articles

    @classmethod
    def of(cls, phrasings: sp.csr_matrix, bodies: sp.csr_matrix) -> "Segment":
        return cls(phrasings.T.tocsr(), bodies.T.tocsr())


def _similarities(
    vector: QueryVector, matrices: Sequence[sp.csr_matrix], max_postings: int
) -> np.ndarray:
    """The query's dot product with every row of the segments, in order, from at most
    `max_postings` postings."""
    features, weights = vector.indices, vector.data
    total = sum(m.indptr[features + 1] - m.indptr[features] for m in matrices)  # per feature
    if len(features) and total.sum() > max_postings:
        order = np.argsort(total, kind="stable")
        within = int(np.searchsorted(np.cumsum(total[order]), max_postings, side="right"))
        kept = np.sort(order[: max(within, MIN_QUERY_FEATURES)])
        features, weights = features[kept], weights[kept]
    parts = [_postings_sum(matrix, features, weights) for matrix in matrices]
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def _postings_sum(matrix: sp.csr_matrix, features: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """`matrix[features].T @ weights` (`features` ascending) by scipy's own kernel, called
    directly on the matrix's arrays: through the sparse-matrix classes the same loop cost three
    times as much in argument checks and new matrices, and gathering the features' postings
    first read them all twice.

    csc_matvec adds up column j's postings `Ap[j]` to `Ap[j + 1]`. Each feature is a column
    from its first posting to its end, and between two features sits a column from one's end
    to the next one's start: with the features in descending order that range runs backwards,
    so the kernel's loop skips it and only the query's own postings are read, where they lie.
    """
    descending = features[::-1].astype(matrix.indptr.dtype, copy=False)
    bounds = np.empty(2 * len(descending), dtype=matrix.indptr.dtype)
    bounds[0::2] = matrix.indptr[descending]
    bounds[1::2] = matrix.indptr[descending + 1]
    spread = np.zeros(max(len(bounds) - 1, 0), dtype=matrix.data.dtype)
    spread[0::2] = weights[::-1]
    result = np.zeros(matrix.shape[1], dtype=matrix.data.dtype)
    if len(descending):
        _sparsetools.csc_matvec(
            matrix.shape[1], len(spread), bounds, matrix.indices, matrix.data, spread, result
        )
    return result


MARKUP = re.compile(r"[*_`#>|]+|!?\[([^\]]*)\]\([^)]*\)")
SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def split_passages(body: str, limit: int) -> list[str]:
    """Paragraphs, list items and sentences of a body: a question often matches just one."""
    passages: list[str] = []
    for line in body.splitlines():
        text = MARKUP.sub(lambda m: m.group(1) or " ", line).strip(" -–•\t0123456789.)")
        for sentence in SENTENCE_END.split(text):
            if len(WORD.findall(sentence)) >= 2:
                passages.append(sentence.strip())
    return list(dict.fromkeys(passages))[:limit]


def _vocabulary(docs: Sequence[ArticleDoc], synonyms: Mapping[str, str]) -> set[str]:
    words: set[str] = set()
    for doc in docs:
        for text in (doc.title, *doc.questions, doc.body[:BODY_CHARS]):
            words.update(WORD.findall(fold(text)))
    for replacement in synonyms.values():
        words.update(WORD.findall(fold(replacement)))
    return words


class SearchIndex:
    """Articles are addressed by position. A patch appends the changed articles at new
    positions and marks the old ones dead, so the segments already built are reused whole."""

    def __init__(
        self,
        *,
        version: int,
        articles: tuple[ArticleDoc, ...],
        normalizer: Normalizer,
        config: IndexConfig,
        space: FeatureSpace | None,
        segments: tuple[Segment, ...],
        phrasing_texts: tuple[str, ...],
        row_article: np.ndarray,
        row_weight: np.ndarray,
        classifier: PhrasingClassifier | None,
        word_counts: dict[str, int],
        dead: np.ndarray | None = None,
    ) -> None:
        self.version = version
        self.articles = articles  # by position, dead ones included
        self.dead = np.zeros(0, dtype=np.int64) if dead is None else dead
        alive = np.ones(len(articles), dtype=bool)
        alive[self.dead] = False
        self.docs = tuple(doc for doc, live in zip(articles, alive, strict=True) if live)
        self._doc_by_id: dict[str, ArticleDoc] = {}
        for doc in self.docs:
            self._doc_by_id.setdefault(doc.id, doc)  # the first, as a scan would find
        self.normalizer = normalizer
        self.config = config
        self.space = space
        self.segments = segments
        self.phrasing_texts = phrasing_texts
        self.row_article = row_article
        # 1 for a title or question; passage_weight for a passage of the body; 0 when dead.
        self.row_weight = row_weight
        self.row_is_phrasing = row_weight >= 1.0
        self.row_starts = np.flatnonzero(np.r_[True, row_article[1:] != row_article[:-1]])
        self.row_counts = np.diff(np.r_[self.row_starts, len(row_article)])
        self.classifier = classifier
        # In how many rows and bodies each word occurs: which words the knowledge base knows.
        self.word_counts = word_counts
        self.languages = sorted({doc.language for doc in self.docs})
        self._language_factor = {
            lang: np.array(
                [1.0 if d.language == lang else config.other_language_factor for d in articles],
                dtype=np.float32,
            )
            for lang in self.languages
        }
        self.calibrator: Calibrator = Calibrator.default()
        self.patched = False  # True when with_changes made it: a full build should follow
        # With a classifier: the calibrator for retrieval alone, which a patched index uses.
        self.retrieval_calibrator: Calibrator | None = None

    @classmethod
    def build(
        cls,
        docs: Sequence[ArticleDoc],
        *,
        synonyms: Mapping[str, str] | None = None,
        version: int = 0,
        config: IndexConfig | None = None,
        calibrate: bool = True,
    ) -> "SearchIndex":
        config = config or IndexConfig()
        synonyms = dict(synonyms or {})
        docs = tuple(docs)
        normalizer = Normalizer(_vocabulary(docs, synonyms), synonyms)
        if not docs:
            return cls._empty(version, normalizer, config)
        rows, row_article, row_weight, bodies = _document_rows(docs, normalizer, config)
        weights = np.asarray(row_weight, dtype=np.float32)
        phrasing_count = int((weights >= 1.0).sum())
        wants_classifier = _wants_classifier(config, len(docs), phrasing_count)
        labels = np.asarray(row_article, dtype=np.int32)
        space = FeatureSpace.fit(
            rows + bodies,
            char_weight=config.char_weight,
            drop_stopwords=not wants_classifier,
            # Without a classifier, IDF is counted per article (its rows and body are one
            # document): a word that names an article's topic is rare across articles even
            # when that article repeats it in every passage. The classifier learns weights.
            documents=None if wants_classifier else np.r_[labels, np.arange(len(docs))],
        )
        segments = _segments(space, rows, labels, bodies, config.segment_articles)
        index = cls(
            version=version,
            articles=docs,
            normalizer=normalizer,
            config=config,
            space=space.without_fitted(),
            segments=segments,
            phrasing_texts=tuple(row.text for row in rows),
            row_article=labels,
            row_weight=weights,
            classifier=None,
            word_counts=_word_counts([*rows, *bodies]),
        )
        del rows, bodies  # the segments have them, feature-major
        if wants_classifier:
            phrasing = weights >= 1.0
            index.classifier = PhrasingClassifier.fit(
                index.phrasing_matrix()[phrasing], labels[phrasing], len(docs)
            )
        if calibrate:
            index.calibrator = fit_calibrator(index)
            if index.classifier is not None:
                index.retrieval_calibrator = fit_calibrator(index, use_classifier=False)
        return index

    def with_changes(
        self, docs: Sequence[ArticleDoc], *, synonyms: Mapping[str, str], version: int
    ) -> "SearchIndex | None":
        """This index with a few articles added, changed or removed, in milliseconds.

        Only the changed articles are read: they become a new segment vectorized with the
        fitted feature space, their old positions are marked dead, and the calibrator is
        reused, so a new article answers at once whatever the size of the knowledge base. A
        full build (new IDF, new words in the word features, a retrained classifier, one
        segment) should follow when there is time. A classifier cannot learn an article in
        milliseconds, so a patched index answers by retrieval alone, with the calibrator fitted
        for that. None when only a full build will do: changed synonyms, or a change to a large
        part of the KB.
        """
        calibrator = self.calibrator if self.classifier is None else self.retrieval_calibrator
        if self.space is None or calibrator is None:
            return None
        if dict(synonyms) != self.normalizer.synonyms:
            return None
        position_of = {doc.id: position for position, doc in enumerate(self.articles)}
        dead = set(self.dead.tolist())
        unchanged: set[int] = set()
        changed: list[ArticleDoc] = []
        for doc in docs:
            position = position_of.get(doc.id)
            if position is not None and position not in dead and self.articles[position] == doc:
                unchanged.add(position)
            else:
                changed.append(doc)
        if len(changed) > max(50, len(docs) // 10):
            return None
        gone = [p for p in range(len(self.articles)) if p not in unchanged and p not in dead]
        normalizer = self.normalizer
        new_words = _vocabulary(changed, {}) - normalizer.vocabulary
        if new_words:  # so that typo correction never "fixes" the new article's own words
            normalizer = normalizer.with_vocabulary(normalizer.vocabulary | new_words)
        rows, row_article, row_weight, bodies = _document_rows(changed, normalizer, self.config)
        word_counts = dict(self.word_counts)
        old_rows, _, _, old_bodies = _document_rows(
            [self.articles[p] for p in gone], self.normalizer, self.config
        )
        _count_words(word_counts, old_rows + old_bodies, -1)
        _count_words(word_counts, rows + bodies, +1)
        weights = self.row_weight.copy()
        weights[np.isin(self.row_article, gone)] = 0.0
        index = type(self)(
            version=version,
            articles=self.articles + tuple(changed),
            normalizer=normalizer,
            config=self.config,
            space=self.space,
            segments=(
                *self.segments,
                Segment.of(self.space.transform(rows), self.space.transform(bodies)),
            ),
            phrasing_texts=self.phrasing_texts + tuple(row.text for row in rows),
            row_article=np.concatenate(
                [self.row_article, np.asarray(row_article, dtype=np.int32) + len(self.articles)]
            ),
            row_weight=np.concatenate([weights, np.asarray(row_weight, dtype=np.float32)]),
            classifier=None,
            word_counts=word_counts,
            dead=np.asarray(sorted(dead.union(gone)), dtype=np.int64),
        )
        index.calibrator = calibrator
        index.retrieval_calibrator = self.retrieval_calibrator
        index.patched = True
        return index

    @classmethod
    def _empty(cls, version: int, normalizer: Normalizer, config: IndexConfig) -> "SearchIndex":
        empty = sp.csr_matrix((0, 0), dtype=np.float32)
        return cls(
            version=version,
            articles=(),
            normalizer=normalizer,
            config=config,
            space=None,
            segments=(Segment(empty, empty),),
            phrasing_texts=(),
            row_article=np.zeros(0, dtype=np.int32),
            row_weight=np.zeros(0, dtype=np.float32),
            classifier=None,
            word_counts={},
        )

    def doc(self, article_id: str) -> ArticleDoc | None:
        return self._doc_by_id.get(article_id)

    def row_normalized(self, row: int) -> Normalized:
        """A row as normalize_document made it (its text is its words, space-separated)."""
        words = tuple(self.phrasing_texts[row].split())
        return Normalized(
            text=self.phrasing_texts[row],
            words=words,
            stems=tuple(stem(w) for w in words),
            language=None,
            conversions=(),
        )

    def article_word_counts(self, article: int) -> dict[str, int]:
        """In how many of one article's rows and body each word occurs."""
        counts: dict[str, int] = {}
        rows = [self.row_normalized(row) for row in self.article_rows(article)]
        body = self.articles[article].body[:BODY_CHARS]
        _count_words(counts, [*rows, self.normalizer.normalize_document(body)], +1)
        return counts

    def has_body(self) -> np.ndarray:
        """Per position: whether the article's body has any feature."""
        counts = [np.bincount(s.bodies.indices, minlength=s.bodies.shape[1]) for s in self.segments]
        return np.concatenate(counts) > 0 if counts else np.zeros(0, dtype=bool)

    def phrasing_matrix(self) -> sp.csr_matrix:
        """Rows x features, for training a classifier on the rows."""
        return sp.vstack([s.phrasings.T for s in self.segments], format="csr")

    def known_share(self, normalized: Normalized) -> float:
        """How much of the message the knowledge base has words for; low means off-topic."""
        words = normalized.words
        return sum(1 for w in words if w in self.word_counts) / len(words) if words else 0.0

    def __len__(self) -> int:
        return len(self.docs)

    @property
    def row_count(self) -> int:
        return len(self.row_article)

    def vectorize(self, normalized: Normalized) -> QueryVector:
        assert self.space is not None
        return self.space.transform_one(normalized)

    def rank(
        self,
        normalized: Normalized,
        vector: QueryVector,
        *,
        language: str | None = None,
        classifier: PhrasingClassifier | None = None,
        use_classifier: bool = True,
        masked_rows: Sequence[int] = (),
        masked_articles: Sequence[int] = (),
    ) -> Ranking:
        """Scores every article for one query. Masks let calibration leave phrasings out."""
        config = self.config
        phrasing_sims = (
            _similarities(vector, [s.phrasings for s in self.segments], config.max_postings)
            * self.row_weight
        )
        if len(masked_rows):
            phrasing_sims[np.asarray(masked_rows)] = 0.0
        best_phrasing = np.maximum.reduceat(phrasing_sims, self.row_starts)
        body_sims = _similarities(vector, [s.bodies for s in self.segments], config.max_postings)
        retrieval = np.maximum(best_phrasing, body_sims * config.body_weight)
        if config.body_bonus:
            retrieval += config.body_bonus * body_sims
        classifier = classifier if classifier is not None else self.classifier
        if classifier is not None and use_classifier:
            margins = classifier.margins(vector)
            probabilities = classifier.probabilities(margins)
            combined = (
                config.classifier_weight * probabilities
                + (1 - config.classifier_weight) * retrieval
            )
        else:
            margins = None
            probabilities = np.zeros_like(retrieval)
            combined = retrieval.copy()
        if language in self._language_factor and len(self.languages) > 1:
            combined = combined * self._language_factor[language]
        if len(self.dead):
            combined[self.dead] = -1.0
        if len(masked_articles):
            combined[np.asarray(masked_articles)] = -1.0
        size = min(config.shortlist, len(combined))
        shortlist = np.argpartition(-combined, size - 1)[:size]
        best_rows = self._best_rows(shortlist, phrasing_sims)
        fuzzy = np.array(
            [
                fuzz.token_set_ratio(normalized.text, self.phrasing_texts[r]) / 100.0
                for r in best_rows
            ],
            dtype=np.float32,
        )
        final = (1 - config.fuzzy_weight) * combined[shortlist] + config.fuzzy_weight * fuzzy
        final[combined[shortlist] < 0] = -1.0
        order = np.argsort(-final, kind="stable")
        top = int(shortlist[order[0]])
        return Ranking(
            article_rows=shortlist[order],
            scores=final[order],
            retrieval=retrieval[shortlist][order],
            classifier=probabilities[shortlist][order],
            fuzzy=fuzzy[order],
            best_rows=best_rows[order],
            classifier_gap=_margin_gap(margins, top),
        )

    def article_rows(self, article: int) -> range:
        """The rows (phrasings, then passages) of one article: they are stored together."""
        start = int(self.row_starts[article])
        return range(start, start + int(self.row_counts[article]))

    def _best_rows(self, articles: np.ndarray, phrasing_sims: np.ndarray) -> np.ndarray:
        """Each article's best-scoring row (the first of equals), for all of them at once."""
        starts, counts = self.row_starts[articles], self.row_counts[articles]
        # Each article's rows, padded with its last: a repeat never wins over the first.
        window = np.minimum(np.arange(int(counts.max())), counts[:, None] - 1)
        return starts + np.argmax(phrasing_sims[starts[:, None] + window], axis=1)

    def candidates(
        self, ranking: Ranking, normalized: Normalized, top: int
    ) -> tuple[Candidate, ...]:
        query_words = set(normalized.words)
        result = []
        for article, score, row in zip(
            ranking.article_rows[:top], ranking.scores[:top], ranking.best_rows[:top], strict=False
        ):
            if score <= 0:
                continue
            doc = self.articles[int(article)]
            terms = tuple(sorted(query_words.intersection(self.phrasing_texts[int(row)].split())))
            result.append(
                Candidate(
                    article_id=doc.id,
                    title=doc.title,
                    language=doc.language,
                    score=round(float(min(max(score, 0.0), 1.0)), 4),
                    phrasing=self.phrasing_texts[int(row)],
                    terms=terms,
                )
            )
        return tuple(result)


def _segments(
    space: FeatureSpace,
    rows: Sequence[Normalized],
    row_article: np.ndarray,
    bodies: Sequence[Normalized],
    size: int,
) -> tuple[Segment, ...]:
    """Segments of `size` articles each: vectorized a part at a time, so that a build never
    holds a large knowledge base's vectors twice (by row and by feature)."""
    row_bounds = np.searchsorted(row_article, np.arange(0, len(bodies) + size, size))
    return tuple(
        Segment.of(
            space.transform(rows[row_bounds[k] : row_bounds[k + 1]]),
            space.transform(bodies[start : start + size]),
        )
        for k, start in enumerate(range(0, len(bodies), size))
    )


def _margin_gap(margins: np.ndarray | None, top: int) -> float:
    if margins is None or len(margins) < 2:
        return 0.0
    others = max(margins[:top].max(initial=-np.inf), margins[top + 1 :].max(initial=-np.inf))
    return float(margins[top] - others)


def _document_rows(
    docs: Sequence[ArticleDoc], normalizer: Normalizer, config: IndexConfig
) -> tuple[list[Normalized], list[int], list[float], list[Normalized]]:
    """Each article's rows, kept together: title and questions (weight 1), then the passages
    of its body; and the body itself."""
    rows: list[Normalized] = []
    row_article: list[int] = []
    row_weight: list[float] = []
    for position, doc in enumerate(docs):
        for text in dict.fromkeys((doc.title, *doc.questions)):
            rows.append(normalizer.normalize_document(text))
            row_article.append(position)
            row_weight.append(1.0)
        for passage in split_passages(doc.body[:BODY_CHARS], config.max_passages):
            rows.append(normalizer.normalize_document(passage))
            row_article.append(position)
            row_weight.append(config.passage_weight)
    bodies = [normalizer.normalize_document(doc.body[:BODY_CHARS]) for doc in docs]
    return rows, row_article, row_weight, bodies


def _word_counts(texts: Sequence[Normalized]) -> dict[str, int]:
    counts: dict[str, int] = {}
    _count_words(counts, texts, +1)
    return counts


def _count_words(counts: dict[str, int], texts: Sequence[Normalized], sign: int) -> None:
    for text in texts:
        for word in set(text.words):
            left = counts.get(word, 0) + sign
            if left > 0:
                counts[word] = left
            else:
                counts.pop(word, None)


def _wants_classifier(config: IndexConfig, articles: int, rows: int) -> bool:
    if config.classifier == "never" or articles < 2:
        return False
    if config.classifier == "always":
        return True
    # A classifier learns from phrasings; with a title alone per article it only overfits,
    # and past a few thousand articles its weights no longer fit in memory.
    return rows >= 3 * articles and articles <= 3000
