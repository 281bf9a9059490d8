"""Quality checks on save: near-duplicates, question collisions, and the regression set.

They only warn; the save itself has gone through. The matching engine is used read-only.
"""

import weakref
from collections.abc import Sequence

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.kb.models import Article, RegressionItem
from app.kb.schemas import QualityWarning, RegressionItemIn
from app.matching.engine import match
from app.matching.index import SearchIndex

TEXT_CHARS = 3000  # like the index: the opening of a body says what it is about
MAX_DUPLICATES = 5
MAX_COLLISION_ARTICLES = 50  # per import; a PUT checks its one article

# Regression answers per index: the "before" of one save is usually the "after" of the last.
_answers: "weakref.WeakKeyDictionary[SearchIndex, dict[str, str | None]]" = (
    weakref.WeakKeyDictionary()
)


def _text(title: str, body: str) -> str:
    return f"{title}\n{(body or '')[:TEXT_CHARS]}"


def near_duplicates(
    *, session: Session, article_ids: Sequence[str], threshold: float
) -> list[QualityWarning]:
    """Articles whose title and body are TF-IDF-cosine similar to one of `article_ids`."""
    rows = session.execute(
        select(Article.id, Article.language, Article.title, Article.body, Article.translation_group)
    ).all()
    if len(rows) < 2:
        return []
    wanted = set(article_ids)
    warnings: list[QualityWarning] = []
    for language in sorted({r.language for r in rows if r.id in wanted}):
        group = [r for r in rows if r.language == language]
        if len(group) < 2:
            continue
        vectorizer = TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2), min_df=1)
        try:
            matrix = vectorizer.fit_transform([_text(r.title, r.body) for r in group])
        except ValueError:  # not one word of two letters in the whole group: nothing to compare
            continue
        targets = [i for i, r in enumerate(group) if r.id in wanted]
        similarity = (matrix[targets] @ matrix.T).toarray()
        seen: set[frozenset[str]] = set()
        for row, position in enumerate(targets):
            mine = group[position]
            for other in np.argsort(-similarity[row])[: MAX_DUPLICATES + 1]:
                score = float(similarity[row, other])
                theirs = group[other]
                pair = frozenset((mine.id, theirs.id))
                if score < threshold or theirs.id == mine.id or pair in seen:
                    continue
                seen.add(pair)
                warnings.append(
                    QualityWarning(
                        kind="near_duplicate",
                        message=(
                            f"{mine.id!r} is {score:.0%} similar to {theirs.id!r} "
                            f"({theirs.title!r})."
                        ),
                        article_id=mine.id,
                        other_article_id=theirs.id,
                        similarity=round(score, 3),
                    )
                )
    return warnings


def question_collisions(
    *, index: SearchIndex, article: Article, min_confidence: float
) -> list[QualityWarning]:
    """Phrasings of the article that the engine answers with another article.

    A published article is in the index, so any other article ranked first beats it; a draft
    is not, so only confident answers (at least `min_confidence`) from others are reported.
    """
    in_index = article.status == "published"
    warnings: list[QualityWarning] = []
    for phrasing in dict.fromkeys((article.title, *(article.questions or []))):
        result = match(index, phrasing, language=article.language)
        top = result.top
        if top is None or top.article_id == article.id:
            continue
        if not in_index and result.confidence < min_confidence:
            continue
        warnings.append(
            QualityWarning(
                kind="question_collision",
                message=(
                    f"{phrasing!r} from {article.id!r} is answered by {top.article_id!r} "
                    f"({top.title!r}) instead."
                ),
                article_id=article.id,
                other_article_id=top.article_id,
                phrasing=phrasing,
            )
        )
    return warnings


def _answer(index: SearchIndex, text: str, min_confidence: float) -> str | None:
    cache = _answers.setdefault(index, {})
    if text not in cache:
        result = match(index, text)
        cache[text] = (
            result.top.article_id if result.top and result.confidence >= min_confidence else None
        )
    return cache[text]


def regression_changes(
    *, session: Session, before: SearchIndex, after: SearchIndex, min_confidence: float
) -> list[QualityWarning]:
    """Regression-set questions whose answer differs between the two indexes."""
    if before is after:
        return []
    warnings: list[QualityWarning] = []
    for item in session.scalars(select(RegressionItem).order_by(RegressionItem.id)):
        old = _answer(before, item.text, min_confidence)
        new = _answer(after, item.text, min_confidence)
        if old == new:
            continue
        verdict = "right" if new == item.expected_article_id else "wrong"
        warnings.append(
            QualityWarning(
                kind="regression",
                message=(
                    f"{item.text!r} was answered by {old or 'nobody'}, now by {new or 'nobody'} "
                    f"(expected {item.expected_article_id}: now {verdict})."
                ),
                text=item.text,
                expected_article_id=item.expected_article_id,
                before=old,
                after=new,
            )
        )
    return warnings


def get_regression_set(*, session: Session) -> list[RegressionItem]:
    return list(session.scalars(select(RegressionItem).order_by(RegressionItem.id)))


def replace_regression_set(
    *, session: Session, items: Sequence[RegressionItemIn]
) -> list[RegressionItem]:
    session.query(RegressionItem).delete()
    rows = [RegressionItem(text=i.text, expected_article_id=i.expected_article_id) for i in items]
    session.add_all(rows)
    session.flush()
    return rows
