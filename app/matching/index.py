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

from app.matching.calibration import Calibrator, fit_calibrator
from app.matching.classifier import PhrasingClassifier
from app.matching.features import FeatureSpace
from app.matching.normalize import Normalized, Normalizer, fold
from app.matching.types import ArticleDoc, Candidate

WORD = re.compile(r"[^\W_]+")
BODY_CHARS = 3000  # the opening of a long body says what it is about; the rest adds noise


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
    def __init__(
        self,
        *,
        version: int,
        docs: tuple[ArticleDoc, ...],
        normalizer: Normalizer,
        config: IndexConfig,
        space: FeatureSpace | None,
        phrasings: sp.csr_matrix,
        phrasing_norms: tuple[Normalized, ...],
        row_article: np.ndarray,
        row_weight: np.ndarray,
        bodies: sp.csr_matrix,
        classifier: PhrasingClassifier | None,
        body_words: tuple[tuple[str, ...], ...] = (),
    ) -> None:
        self.version = version
        self.docs = docs
        self._doc_by_id: dict[str, ArticleDoc] = {}
        for doc in docs:
            self._doc_by_id.setdefault(doc.id, doc)  # the first, as a scan would find
        self.normalizer = normalizer
        self.config = config
        self.space = space
        self.phrasings = phrasings
        # Features x rows: a query's few non-zero features then select a few rows to add up,
        # an order of magnitude faster than multiplying every phrasing by the query.
        self._phrasings_by_feature = phrasings.T.tocsr()
        self._bodies_by_feature = bodies.T.tocsr()
        self.phrasing_norms = phrasing_norms
        self.phrasing_texts = tuple(n.text for n in phrasing_norms)
        self.phrasing_words = tuple(frozenset(n.words) for n in phrasing_norms)
        self.row_article = row_article
        # 1 for a title or question; passage_weight for a passage of the body.
        self.row_weight = row_weight
        self.row_is_phrasing = row_weight >= 1.0
        self.row_starts = np.flatnonzero(np.r_[True, row_article[1:] != row_article[:-1]])
        self.bodies = bodies
        self.classifier = classifier
        self._body_words = body_words
        self.word_counts = _word_counts(phrasing_norms, body_words)
        self.languages = sorted({doc.language for doc in docs})
        self._language_factor = {
            lang: np.array(
                [1.0 if d.language == lang else config.other_language_factor for d in docs],
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
        fit_on = rows + bodies
        if not wants_classifier:  # the classifier learns weights; retrieval leans on IDF
            fit_on = _article_texts(rows, labels_of(row_article), bodies)
        space = FeatureSpace.fit(
            fit_on, char_weight=config.char_weight, drop_stopwords=not wants_classifier
        )
        phrasing_matrix = space.transform(rows)
        body_matrix = space.transform(bodies)
        labels = np.asarray(row_article, dtype=np.int32)
        classifier = None
        if wants_classifier:
            phrasing = weights >= 1.0
            classifier = PhrasingClassifier.fit(
                phrasing_matrix[phrasing], labels[phrasing], len(docs)
            )
        index = cls(
            version=version,
            docs=docs,
            normalizer=normalizer,
            config=config,
            space=space,
            phrasings=phrasing_matrix,
            phrasing_norms=tuple(rows),
            row_article=labels,
            row_weight=weights,
            bodies=body_matrix,
            classifier=classifier,
            body_words=tuple(b.words for b in bodies),
        )
        if calibrate:
            index.calibrator = fit_calibrator(index)
            if classifier is not None:
                index.retrieval_calibrator = fit_calibrator(index, use_classifier=False)
        return index

    def with_changes(
        self, docs: Sequence[ArticleDoc], *, synonyms: Mapping[str, str], version: int
    ) -> "SearchIndex | None":
        """This index with a few articles added, changed or removed, in milliseconds.

        The fitted feature space and the calibrator are reused and only the changed articles
        are read, so a new article answers at once; a full build (new IDF, new words in the
        word features, a retrained classifier) should follow when there is time. A classifier
        cannot learn an article in milliseconds, so a patched index answers by retrieval alone,
        with the calibrator fitted for that. None when only a full build will do: changed
        synonyms, or a change to a large part of the KB.
        """
        calibrator = self.calibrator if self.classifier is None else self.retrieval_calibrator
        if self.space is None or calibrator is None:
            return None
        if dict(synonyms) != self.normalizer.synonyms:
            return None
        position_of = {doc.id: position for position, doc in enumerate(self.docs)}
        kept: list[int] = []
        changed: list[ArticleDoc] = []
        for doc in docs:
            position = position_of.get(doc.id)
            if position is not None and self.docs[position] == doc:
                kept.append(position)
            else:
                changed.append(doc)
        if len(changed) > max(50, len(docs) // 10):
            return None
        kept.sort()
        normalizer = self.normalizer
        new_words = _vocabulary(changed, {}) - normalizer.vocabulary
        if new_words:  # so that typo correction never "fixes" the new article's own words
            normalizer = normalizer.with_vocabulary(normalizer.vocabulary | new_words)
        rows, row_article, row_weight, bodies = _document_rows(changed, normalizer, self.config)
        keep_row = np.isin(self.row_article, kept)
        renumber = np.full(len(self.docs), -1, dtype=np.int32)
        renumber[kept] = np.arange(len(kept), dtype=np.int32)
        kept_rows = np.flatnonzero(keep_row)
        space = self.space
        index = type(self)(
            version=version,
            docs=tuple(self.docs[p] for p in kept) + tuple(changed),
            normalizer=normalizer,
            config=self.config,
            space=space,
            phrasings=sp.vstack([self.phrasings[kept_rows], space.transform(rows)], format="csr"),
            phrasing_norms=tuple(self.phrasing_norms[r] for r in kept_rows) + tuple(rows),
            row_article=np.concatenate(
                [renumber[self.row_article[kept_rows]], np.asarray(row_article) + len(kept)]
            ).astype(np.int32),
            row_weight=np.concatenate(
                [self.row_weight[kept_rows], np.asarray(row_weight, dtype=np.float32)]
            ),
            bodies=sp.vstack([self.bodies[kept], space.transform(bodies)], format="csr"),
            classifier=None,
            body_words=tuple(self.body_words(p) for p in kept) + tuple(b.words for b in bodies),
        )
        index.calibrator = calibrator
        index.retrieval_calibrator = self.retrieval_calibrator
        index.patched = True
        return index

    @classmethod
    def _empty(cls, version: int, normalizer: Normalizer, config: IndexConfig) -> "SearchIndex":
        return cls(
            version=version,
            docs=(),
            normalizer=normalizer,
            config=config,
            space=None,
            phrasings=sp.csr_matrix((0, 0), dtype=np.float32),
            phrasing_norms=(),
            row_article=np.zeros(0, dtype=np.int32),
            row_weight=np.zeros(0, dtype=np.float32),
            bodies=sp.csr_matrix((0, 0), dtype=np.float32),
            classifier=None,
        )

    def doc(self, article_id: str) -> ArticleDoc | None:
        return self._doc_by_id.get(article_id)

    def body_words(self, article: int) -> tuple[str, ...]:
        return self._body_words[article] if self._body_words else ()

    def known_share(self, normalized: Normalized) -> float:
        """How much of the message the knowledge base has words for; low means off-topic."""
        words = normalized.words
        return sum(1 for w in words if w in self.word_counts) / len(words) if words else 0.0

    def __len__(self) -> int:
        return len(self.docs)

    def vectorize(self, normalized: Normalized) -> sp.csr_matrix:
        assert self.space is not None
        return self.space.transform_one(normalized)

    def rank(
        self,
        normalized: Normalized,
        vector: sp.csr_matrix,
        *,
        language: str | None = None,
        classifier: PhrasingClassifier | None = None,
        use_classifier: bool = True,
        masked_rows: Sequence[int] = (),
        masked_articles: Sequence[int] = (),
    ) -> Ranking:
        """Scores every article for one query. Masks let calibration leave phrasings out."""
        config = self.config
        phrasing_sims = (vector @ self._phrasings_by_feature).toarray().ravel() * self.row_weight
        if len(masked_rows):
            phrasing_sims[np.asarray(masked_rows)] = 0.0
        best_phrasing = np.maximum.reduceat(phrasing_sims, self.row_starts)
        body_sims = (vector @ self._bodies_by_feature).toarray().ravel()
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
        if len(masked_articles):
            combined[np.asarray(masked_articles)] = -1.0
        size = min(config.shortlist, len(combined))
        shortlist = np.argpartition(-combined, size - 1)[:size]
        best_rows = np.array([self._best_row(a, phrasing_sims) for a in shortlist], dtype=np.int64)
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
        last = article + 1 >= len(self.row_starts)
        return range(start, len(self.row_article) if last else int(self.row_starts[article + 1]))

    def _best_row(self, article: int, phrasing_sims: np.ndarray) -> int:
        rows = self.article_rows(article)
        return int(rows.start + np.argmax(phrasing_sims[rows.start : rows.stop]))

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
            doc = self.docs[int(article)]
            terms = tuple(sorted(query_words & self.phrasing_words[int(row)]))
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


def _margin_gap(margins: np.ndarray | None, top: int) -> float:
    if margins is None or len(margins) < 2:
        return 0.0
    others = np.delete(margins, top)
    return float(margins[top] - others.max())


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


def labels_of(row_article: list[int]) -> np.ndarray:
    return np.asarray(row_article, dtype=np.int32)


def _article_texts(
    rows: Sequence[Normalized], row_article: np.ndarray, bodies: Sequence[Normalized]
) -> list[Normalized]:
    """One document per article for fitting IDF: a word that names an article's topic is
    rare across articles even when that article repeats it in every passage."""
    parts: list[list[Normalized]] = [[body] for body in bodies]
    for row, article in zip(rows, row_article, strict=True):
        parts[article].append(row)
    return [
        Normalized(
            text=" ".join(p.text for p in group),
            words=tuple(w for p in group for w in p.words),
            stems=tuple(s for p in group for s in p.stems),
            language=None,
            conversions=(),
        )
        for group in parts
    ]


def _word_counts(
    phrasings: Sequence[Normalized], bodies: Sequence[Sequence[str]]
) -> dict[str, int]:
    counts: dict[str, int] = {}
    for words in (*(p.words for p in phrasings), *bodies):
        for word in set(words):
            counts[word] = counts.get(word, 0) + 1
    return counts


def _wants_classifier(config: IndexConfig, articles: int, rows: int) -> bool:
    if config.classifier == "never" or articles < 2:
        return False
    if config.classifier == "always":
        return True
    # A classifier learns from phrasings; with a title alone per article it only overfits,
    # and past a few thousand articles its weights no longer fit in memory.
    return rows >= 3 * articles and articles <= 3000
