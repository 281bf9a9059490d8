"""Articles, the knowledge-base version and synonyms: the storage side of the KB."""

from collections.abc import Sequence

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from app.db import utcnow
from app.errors import Conflict, NotFound
from app.kb import audit, revisions
from app.kb.models import Article, ArticleRevision, KnowledgeBaseState, Synonym
from app.kb.schemas import ArticleIn
from app.matching.types import ArticleDoc

SYSTEM_AUTHOR = "system"


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
    category: str | None = None,
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
    # tags and categories are JSON lists; filtering in Python keeps one query for both databases
    if tag:
        rows = [row for row in rows if tag in (row.tags or [])]
    if category:
        rows = [row for row in rows if category in (row.categories or [])]
    return rows[offset : offset + limit], len(rows)


def translations_of(*, session: Session, articles: Sequence[Article]) -> dict[str, dict[str, str]]:
    """article id -> {language: id} of the other articles in its translation group."""
    groups = {a.translation_group for a in articles if a.translation_group}
    members: dict[str, dict[str, str]] = {}
    group_list = list(groups)
    for start in range(0, len(group_list), 500):
        rows = session.execute(
            select(Article.translation_group, Article.language, Article.id).where(
                Article.translation_group.in_(group_list[start : start + 500])
            )
        )
        for group, language, article_id in rows:
            members.setdefault(group, {})[language] = article_id
    return {
        a.id: {
            lang: other
            for lang, other in members.get(a.translation_group or "", {}).items()
            if other != a.id
        }
        for a in articles
    }


def check_translation_slot(
    *, session: Session, article_id: str, group: str | None, language: str
) -> None:
    """A translation group holds one article per language."""
    if not group:
        return
    holder = session.scalar(
        select(Article.id).where(
            Article.translation_group == group,
            Article.language == language,
            Article.id != article_id,
        )
    )
    if holder is not None:
        raise Conflict(
            f"Translation group {group!r} already has a {language!r} article: {holder!r}.",
            translation_group=group,
            language=language,
            other_article_id=holder,
        )


def put_article(
    *,
    session: Session,
    article_id: str,
    article_in: ArticleIn,
    author: str = SYSTEM_AUTHOR,
    source: str = "api",
) -> tuple[Article, bool]:
    """Create or replace; returns the article and whether it was created.

    A real change writes a revision and an audit entry and moves the KB version; saving the
    same content again changes nothing.
    """
    check_translation_slot(
        session=session,
        article_id=article_id,
        group=article_in.translation_group,
        language=article_in.language,
    )
    article = session.get(Article, article_id)
    created = article is None
    before = None if article is None else revisions.content_of(article)
    after = article_in.model_dump()
    if before == after:
        return article, False  # type: ignore[return-value]
    if article is None:
        article = Article(id=article_id)
        session.add(article)
    for name, value in after.items():
        setattr(article, name, value)
    article.updated_at = utcnow()
    action = "created" if created else "updated"
    if source.startswith("restore:"):
        action = "restored"
    _record(session, article_id, action, source, author, before, after)
    session.flush()
    bump_version(session=session)
    return article, created


def delete_article(*, session: Session, article_id: str, author: str = SYSTEM_AUTHOR) -> None:
    article = get_article(session=session, article_id=article_id)
    _record(session, article_id, "deleted", "api", author, revisions.content_of(article), None)
    session.delete(article)
    session.flush()
    bump_version(session=session)


def restore_revision(
    *, session: Session, article_id: str, number: int, author: str = SYSTEM_AUTHOR
) -> Article:
    """Makes the article what it was after revision `number` (before it, for a deletion)."""
    revision = revisions.get_revision(session=session, article_id=article_id, number=number)
    content = {k: v for k, v in revision.content.items() if k in ArticleIn.model_fields}
    article, _ = put_article(
        session=session,
        article_id=article_id,
        article_in=ArticleIn.model_validate(content),
        author=author,
        source=f"restore:{number}",
    )
    return article


def _record(
    session: Session,
    article_id: str,
    action: str,
    source: str,
    author: str,
    before: dict | None,  # type: ignore[type-arg]
    after: dict | None,  # type: ignore[type-arg]
) -> ArticleRevision:
    number = revisions.next_numbers(session=session, article_ids=[article_id])[article_id]
    revision = revisions.make_revision(
        article_id=article_id,
        number=number,
        action=action,
        source=source,
        author=author,
        before=before,
        after=after,
    )
    session.add(revision)
    audit.record(
        session=session,
        author=author,
        action=f"article.{action}",
        target=article_id,
        revision=number,
        source=source,
        changed=revision.changed,
    )
    return revision


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


# What the index reads of an article (ArticleDoc).
SNAPSHOT_COLUMNS = (
    Article.id,
    Article.language,
    Article.title,
    Article.body,
    Article.questions,
    Article.tags,
    Article.always_handoff,
    Article.answer_threshold,
    Article.handoff_threshold,
)


def published_snapshot(*, session: Session) -> tuple[int, list[ArticleDoc]]:
    """The version and the articles that may answer, read in one transaction.

    Plain rows of the columns the index reads, not ORM objects: a knowledge-base change is
    answerable only after this read, and at 100,000 articles building an object per article
    took 5 of the 6 seconds of a patch."""
    version = current_version(session=session)
    rows = session.execute(
        select(*SNAPSHOT_COLUMNS).where(Article.status == "published").order_by(Article.id)
    )
    return version, [
        ArticleDoc(
            id=row.id,
            language=row.language,
            title=row.title,
            body=row.body or "",
            questions=tuple(row.questions or ()),
            tags=tuple(row.tags or ()),
            always_handoff=row.always_handoff,
            answer_threshold=row.answer_threshold,
            handoff_threshold=row.handoff_threshold,
        )
        for row in rows
    ]


def get_synonyms(*, session: Session) -> dict[str, str]:
    return {row.term: row.replacement for row in session.scalars(select(Synonym))}


def replace_synonyms(
    *, session: Session, synonyms: dict[str, str], author: str = SYSTEM_AUTHOR
) -> dict[str, str]:
    session.query(Synonym).delete()
    cleaned = {k.strip().lower(): v.strip() for k, v in synonyms.items() if k.strip() and v.strip()}
    session.add_all(Synonym(term=k, replacement=v) for k, v in cleaned.items())
    audit.record(session=session, author=author, action="synonyms.replaced", count=len(cleaned))
    session.flush()
    bump_version(session=session)
    return cleaned


def existing_ids(*, session: Session, ids: Sequence[str]) -> set[str]:
    return set(session.scalars(select(Article.id).where(Article.id.in_(list(ids)))))
