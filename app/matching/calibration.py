"""Turning ranking scores into a confidence: the probability that the top article is right.

A raw cosine means different things in different knowledge bases, so each index learns its own
mapping from held-out phrasings. A phrasing left out of the index plays a customer whose
question the KB covers. For questions it does not cover, the articles are split into groups;
each group in turn is removed whole (from retrieval and from a classifier trained without it)
and its phrasings are asked again: whatever the index then answers is, by construction, wrong.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from sklearn.linear_model import LogisticRegression

if TYPE_CHECKING:
    from app.matching.classifier import PhrasingClassifier
    from app.matching.index import Ranking, SearchIndex
    from app.matching.normalize import Normalized

FEATURES = (
    "top",
    "margin",
    "retrieval",
    "classifier",
    "fuzzy",
    "known_words",
    "length",
    "classifier_gap",
)
MIN_SAMPLES = 30
GROUPS = 3
# How much a simulated out-of-scope question counts against a held-out in-scope one.
OUT_OF_SCOPE_WEIGHT = 0.5
# Without a classifier there is nothing to retrain per fold and a query costs more at scale
# (~10 ms at 10,000 articles); eight weights settle with a few hundred queries.
RETRIEVAL_QUERIES = 600


def ranking_features(ranking: Ranking, normalized: Normalized, known_share: float) -> np.ndarray:
    scores = ranking.scores
    if not len(scores):
        return np.array(
            [0, 0, 0, 0, 0, known_share, math.log1p(len(normalized.words)), 0], dtype=np.float64
        )
    second = float(scores[1]) if len(scores) > 1 else 0.0
    return np.array(
        [
            float(scores[0]),
            float(scores[0]) - max(second, 0.0),
            float(ranking.retrieval[0]),
            float(ranking.classifier[0]),
            float(ranking.fuzzy[0]),
            known_share,
            math.log1p(len(normalized.words)),
            ranking.classifier_gap,
        ],
        dtype=np.float64,
    )


@dataclass(frozen=True, slots=True)
class Calibrator:
    weights: tuple[float, ...]
    bias: float
    samples: int = 0

    @classmethod
    def default(cls) -> Calibrator:
        # For a knowledge base too small to hold anything out: leans on the top score and margin.
        return cls(weights=(7.0, 5.0, 2.0, 0.0, 1.0, 1.5, 0.0, 0.0), bias=-5.5)

    def confidence(self, features: np.ndarray) -> float:
        z = float(np.dot(self.weights, features)) + self.bias
        return 1.0 / (1.0 + math.exp(-max(min(z, 30.0), -30.0)))


def _held_out_rows(index: SearchIndex, limit: int, rng: np.random.Generator) -> list[int]:
    """Rows whose article keeps something to match on when they are left out."""
    phrasing = index.row_is_phrasing
    counts = np.bincount(index.row_article[phrasing], minlength=len(index.articles))
    has_body = index.has_body()
    eligible = [
        row
        for row, article in enumerate(index.row_article)
        if phrasing[row] and (counts[article] >= 2 or has_body[article])
    ]
    rng.shuffle(eligible)
    taken: list[int] = []
    per_article = np.zeros(len(index.articles), dtype=np.int32)
    for row in eligible:
        article = index.row_article[row]
        if counts[article] >= 2 and per_article[article] >= counts[article] // 2:
            continue
        per_article[article] += 1
        taken.append(row)
        if len(taken) >= limit:
            break
    return taken


class _Sampler:
    """Collects (features, label, weight) triples from queries against a masked index."""

    def __init__(self, index: SearchIndex, *, use_classifier: bool = True) -> None:
        self.index = index
        self.use_classifier = use_classifier
        self.rows: list[np.ndarray] = []
        self.labels: list[int] = []
        self.weights: list[float] = []

    def add(
        self,
        row: int,
        classifier: PhrasingClassifier | None,
        masked_rows: Sequence[int],
        masked_articles: Sequence[int],
        weight: float,
    ) -> None:
        index = self.index
        article = int(index.row_article[row])
        normalized = index.row_normalized(row)
        ranking = index.rank(
            normalized,
            index.vectorize(normalized),
            classifier=classifier,
            use_classifier=self.use_classifier,
            masked_rows=masked_rows,
            masked_articles=masked_articles,
        )
        hidden = set(masked_articles)
        own = index.article_word_counts(article) if hidden else {}
        words = normalized.words
        # A word counts as known if a row or body of some other article still has it.
        counts = index.word_counts
        known = sum(1 for w in words if counts.get(w, 0) > own.get(w, 0)) / max(len(words), 1)
        correct = not hidden and int(ranking.article_rows[0]) == article
        self.rows.append(ranking_features(ranking, normalized, known))
        self.labels.append(int(correct))
        self.weights.append(weight)


def fit_calibrator(index: SearchIndex, *, use_classifier: bool = True) -> Calibrator:
    """`use_classifier=False` fits the calibrator for retrieval alone: what a quickly patched
    index answers with until its classifier is retrained."""
    from app.matching.classifier import PhrasingClassifier

    rng = np.random.default_rng(7)
    limit = index.config.max_calibration_queries
    if not (use_classifier and index.classifier is not None):
        limit = min(limit, RETRIEVAL_QUERIES)
    held = _held_out_rows(index, limit, rng)
    if len(held) < MIN_SAMPLES or len(index.articles) < GROUPS + 1:
        return Calibrator.default()
    sampler = _Sampler(index, use_classifier=use_classifier)
    trains = use_classifier and index.classifier is not None
    fold = None
    phrasing_rows = np.flatnonzero(index.row_is_phrasing)
    matrix = index.phrasing_matrix() if trains else None
    if matrix is not None:
        keep = np.setdiff1d(phrasing_rows, held)
        fold = PhrasingClassifier.fit(matrix[keep], index.row_article[keep], len(index.articles))
    for row in held:
        sampler.add(row, fold, [row], (), 1.0)
    group_of = rng.permutation(len(index.articles)) % GROUPS
    for group in range(GROUPS):
        hidden_articles = np.flatnonzero(group_of == group)
        hidden_rows = np.flatnonzero(np.isin(index.row_article, hidden_articles))
        classifier = None
        if matrix is not None:
            keep = np.setdiff1d(phrasing_rows, hidden_rows)
            classifier = PhrasingClassifier.fit(
                matrix[keep], index.row_article[keep], len(index.articles)
            )
        for row in held:
            if group_of[index.row_article[row]] == group:
                sampler.add(row, classifier, hidden_rows, hidden_articles, OUT_OF_SCOPE_WEIGHT)
    labels = np.asarray(sampler.labels)
    if labels.min() == labels.max():
        return Calibrator.default()
    model = LogisticRegression(C=1.0, max_iter=1000)
    model.fit(np.vstack(sampler.rows), labels, sample_weight=np.asarray(sampler.weights))
    return Calibrator(
        weights=tuple(float(w) for w in model.coef_[0]),
        bias=float(model.intercept_[0]),
        samples=len(held),
    )
