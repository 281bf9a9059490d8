"""The editor API: articles and synonyms. Every write needs the editor or admin role."""

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response

from app.dependencies import EditorDep, SessionDep
from app.kb import service
from app.kb.schemas import SLUG, ArticleIn, ArticleList, ArticleOut, SynonymsBody

router = APIRouter(prefix="/v1", tags=["knowledge base"])

ArticleId = Annotated[str, Path(pattern=SLUG.pattern, description="slug: a-z, 0-9, - and _")]


def _reindex(request: Request, session: SessionDep) -> None:
    """Commit first, then rebuild, so this worker answers from the change on the next request."""
    session.commit()
    request.app.state.kb_index.rebuild_now()


@router.put("/articles/{article_id}", response_model=ArticleOut)
def put_article(
    article_id: ArticleId,
    article_in: ArticleIn,
    request: Request,
    response: Response,
    session: SessionDep,
    _: EditorDep,
) -> ArticleOut:
    article, created = service.put_article(
        session=session, article_id=article_id, article_in=article_in
    )
    out = ArticleOut.model_validate(article)
    _reindex(request, session)
    response.status_code = 201 if created else 200
    return out


@router.get("/articles/{article_id}", response_model=ArticleOut)
def get_article(article_id: str, session: SessionDep, _: EditorDep) -> ArticleOut:
    return ArticleOut.model_validate(service.get_article(session=session, article_id=article_id))


@router.get("/articles", response_model=ArticleList)
def list_articles(
    session: SessionDep,
    _: EditorDep,
    q: str | None = None,
    tag: str | None = None,
    language: str | None = None,
    status: str | None = Query(default=None, pattern="^(draft|published)$"),
    limit: int = Query(default=100, ge=1, le=1000),
    offset: int = Query(default=0, ge=0),
) -> ArticleList:
    rows, total = service.list_articles(
        session=session, q=q, tag=tag, language=language, status=status, limit=limit, offset=offset
    )
    return ArticleList(items=[ArticleOut.model_validate(r) for r in rows], total=total)


@router.delete("/articles/{article_id}", status_code=204)
def delete_article(article_id: str, request: Request, session: SessionDep, _: EditorDep) -> None:
    service.delete_article(session=session, article_id=article_id)
    _reindex(request, session)


@router.get("/synonyms", response_model=SynonymsBody)
def get_synonyms(session: SessionDep, _: EditorDep) -> SynonymsBody:
    return SynonymsBody(synonyms=service.get_synonyms(session=session))


@router.put("/synonyms", response_model=SynonymsBody)
def put_synonyms(
    body: SynonymsBody, request: Request, session: SessionDep, _: EditorDep
) -> SynonymsBody:
    saved = service.replace_synonyms(session=session, synonyms=body.synonyms)
    _reindex(request, session)
    return SynonymsBody(synonyms=saved)
