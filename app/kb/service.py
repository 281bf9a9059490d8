"""Articles, the knowledge-base version and synonyms: the storage side of the KB."""

from collections.abc import Sequence

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from app.db import utcnow
from app.errors import NotFound
from app.kb.models import Article, KnowledgeBaseState, Synonym
from app.kb.schemas import ArticleIn
from app.matching.types import ArticleDoc


class ArticleNotFound(NotFound):
    def __init__(self, article_id: str) -> None:
        super().__init__(f"Article {article_id!r} does not exist.", article_id=article_id)


def get_article(*, session: Session, article_id: str) -> Article:
    article = session.get(Article, article_id)
    if article is None:
        raise ArticleNotFound(article_id)
    return article


def list_articles(
    *,
    session: Session,
    q: str | None = None,
    tag: str | None = None,
    language: str | None = None,
    status: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[Article], int]:
    query = select(Article)
    if language:
        query = query.where(Article.language == language)
    if status:
        query = query.where(Article.status == status)
    if q:
        pattern = f"%{q.lower()}%"
        query = query.where(
            or_(func.lower(Article.title).like(pattern), func.lower(Article.body).like(pattern))
        )
    rows = list(session.scalars(query.order_by(Article.id)))
    if tag:  # tags are a JSON list; filtering in Python keeps one query for both databases
        rows = [row for row in rows if tag in (row.tags or [])]
    return rows[offset : offset + limit], len(rows)


def put_article(
    *, session: Session, article_id: str, article_in: ArticleIn
) -> tuple[Article, bool]:
    """Create or replace; returns the article and whether it was created."""
    article = session.get(Article, article_id)
    created = article is None
    if article is None:
        article = Article(id=article_id)
        session.add(article)
    for name, value in article_in.model_dump().items():
        setattr(article, name, value)
    article.updated_at = utcnow()
    session.flush()
    bump_version(session=session)
    return article, created


def delete_article(*, session: Session, article_id: str) -> None:
    article = get_article(session=session, article_id=article_id)
    session.delete(article)
    session.flush()
    bump_version(session=session)


def current_version(*, session: Session) -> int:
    return session.scalar(select(KnowledgeBaseState.version).where(KnowledgeBaseState.id == 1)) or 0


def bump_version(*, session: Session) -> None:
    """Every worker compares this number with its index's and rebuilds when it grew."""
    updated = session.execute(
        update(KnowledgeBaseState)
        .where(KnowledgeBaseState.id == 1)
        .values(version=KnowledgeBaseState.version + 1, updated_at=utcnow())
    )
    if updated.rowcount == 0:  # type: ignore[attr-defined]
        session.add(KnowledgeBaseState(id=1, version=1))
        session.flush()


def published_snapshot(*, session: Session) -> tuple[int, list[ArticleDoc]]:
    """The version and the articles that may answer, read in one transaction."""
    version = current_version(session=session)
    rows = session.scalars(
        select(Article).where(Article.status == "published").order_by(Article.id)
    )
    return version, [to_doc(row) for row in rows]


def to_doc(article: Article) -> ArticleDoc:
    return ArticleDoc(
        id=article.id,
        language=article.language,
        title=article.title,
        body=article.body or "",
        questions=tuple(article.questions or ()),
        tags=tuple(article.tags or ()),
        always_handoff=article.always_handoff,
        answer_threshold=article.answer_threshold,
        handoff_threshold=article.handoff_threshold,
    )


def get_synonyms(*, session: Session) -> dict[str, str]:
    return {row.term: row.replacement for row in session.scalars(select(Synonym))}


def replace_synonyms(*, session: Session, synonyms: dict[str, str]) -> dict[str, str]:
    session.query(Synonym).delete()
    cleaned = {k.strip().lower(): v.strip() for k, v in synonyms.items() if k.strip() and v.strip()}
    session.add_all(Synonym(term=k, replacement=v) for k, v in cleaned.items())
    session.flush()
    bump_version(session=session)
    return cleaned


def existing_ids(*, session: Session, ids: Sequence[str]) -> set[str]:
    return set(session.scalars(select(Article.id).where(Article.id.in_(list(ids)))))
