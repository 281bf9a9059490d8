"""Shared by the KB routers: committing a write and refreshing this worker's index, building
article responses, and the quality checks that go with a save."""

from collections.abc import Sequence

from fastapi import Request
from sqlalchemy.orm import Session

from app.kb import quality, service
from app.kb.models import Article
from app.kb.reindex import IndexHolder
from app.kb.schemas import ArticleOut, ArticleSaved, QualityWarning
from app.matching.index import SearchIndex
from app.settings import Settings


def holder(request: Request) -> IndexHolder:
    return request.app.state.kb_index


def commit_and_reindex(request: Request, session: Session, settings: Settings) -> bool:
    """Commit first, then rebuild in the background; wait a little so that this worker answers
    from the change on the next request. False if the new index is not in place yet."""
    version = service.current_version(session=session)
    session.commit()
    return holder(request).refresh(version=version, timeout=settings.kb_write_wait_seconds)


def article_outs(session: Session, articles: Sequence[Article]) -> list[ArticleOut]:
    translations = service.translations_of(session=session, articles=articles)
    return [
        ArticleOut.model_validate(a).model_copy(update={"translations": translations[a.id]})
        for a in articles
    ]


def after_save_checks(
    *,
    request: Request,
    session: Session,
    settings: Settings,
    articles: Sequence[Article],
    before: SearchIndex,
    index_ready: bool,
) -> list[QualityWarning]:
    """Collisions and regression changes need the new index; without it they are skipped."""
    if not index_ready:
        return [
            QualityWarning(
                kind="checks_skipped",
                message="The index is still being rebuilt; collision and regression checks "
                "were skipped. The change will answer once the rebuild finishes.",
            )
        ]
    after = holder(request).index
    warnings: list[QualityWarning] = []
    for article in articles[: quality.MAX_COLLISION_ARTICLES]:
        warnings += quality.question_collisions(
            index=after, article=article, min_confidence=settings.answer_threshold
        )
    warnings += quality.regression_changes(
        session=session, before=before, after=after, min_confidence=settings.handoff_threshold
    )
    return warnings


def saved_article(
    *,
    request: Request,
    session: Session,
    settings: Settings,
    article: Article,
    before: SearchIndex,
) -> ArticleSaved:
    """After a single-article write (PUT or restore): the response with every quality warning.

    Near-duplicates are checked before the commit; collisions and regression changes after it,
    against this worker's new index.
    """
    out = article_outs(session, [article])[0]
    warnings = quality.near_duplicates(
        session=session, article_ids=[article.id], threshold=settings.kb_duplicate_threshold
    )
    ready = commit_and_reindex(request, session, settings)
    warnings += after_save_checks(
        request=request,
        session=session,
        settings=settings,
        articles=[article],
        before=before,
        index_ready=ready,
    )
    return ArticleSaved(**out.model_dump(), warnings=warnings)
