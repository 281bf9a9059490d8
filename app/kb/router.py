"""The editor API: articles and synonyms. Every write needs the editor or admin role.

Revisions, the audit log and the regression set are in router_history.py, uploads in
router_import.py; this router includes both, so app.main registers one KB router.
"""

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response

from app.dependencies import MAX_BIG_ID, EditorDep, SessionDep, SettingsDep
from app.kb import service
from app.kb.responses import article_outs, commit_and_reindex, holder, saved_article
from app.kb.router_history import router as history_router
from app.kb.router_import import router as import_router
from app.kb.schemas import SLUG, ArticleIn, ArticleList, ArticleOut, ArticleSaved, SynonymsBody
from app.openapi import problems

router = APIRouter(prefix="/v1", tags=["knowledge base"], responses=problems(401, 403))
router.include_router(import_router)  # before /articles/{id} so "import" is never an id
router.include_router(history_router)

ArticleId = Annotated[str, Path(pattern=SLUG.pattern, description="slug: a-z, 0-9, - and _")]


@router.put(
    "/articles/{article_id}",
    response_model=ArticleSaved,
    responses={201: {"model": ArticleSaved, "description": "A new article"}, **problems(409)},
)
def put_article(
    article_id: ArticleId,
    article_in: ArticleIn,
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    principal: EditorDep,
) -> ArticleSaved:
    before = holder(request).index
    article, created = service.put_article(
        session=session, article_id=article_id, article_in=article_in, author=principal.name
    )
    response.status_code = 201 if created else 200
    return saved_article(
        request=request, session=session, settings=settings, article=article, before=before
    )


@router.get("/articles/{article_id}", response_model=ArticleOut, responses=problems(404))
def get_article(article_id: str, session: SessionDep, _: EditorDep) -> ArticleOut:
    return article_outs(session, [service.get_article(session=session, article_id=article_id)])[0]


@router.get("/articles", response_model=ArticleList)
def list_articles(
    session: SessionDep,
    _: EditorDep,
    q: str | None = None,
    tag: str | None = None,
    category: str | None = None,
    language: str | None = None,
    status: str | None = Query(default=None, pattern="^(draft|published)$"),
    limit: int = Query(default=100, ge=1, le=1000),
    offset: int = Query(default=0, ge=0, le=MAX_BIG_ID),
) -> ArticleList:
    rows, total = service.list_articles(
        session=session,
        q=q,
        tag=tag,
        category=category,
        language=language,
        status=status,
        limit=limit,
        offset=offset,
    )
    return ArticleList(items=article_outs(session, rows), total=total)


@router.delete("/articles/{article_id}", status_code=204, responses=problems(404))
def delete_article(
    article_id: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: EditorDep,
) -> None:
    service.delete_article(session=session, article_id=article_id, author=principal.name)
    commit_and_reindex(request, session, settings)


@router.get("/synonyms", response_model=SynonymsBody)
def get_synonyms(session: SessionDep, _: EditorDep) -> SynonymsBody:
    return SynonymsBody(synonyms=service.get_synonyms(session=session))


@router.put("/synonyms", response_model=SynonymsBody)
def put_synonyms(
    body: SynonymsBody,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: EditorDep,
) -> SynonymsBody:
    saved = service.replace_synonyms(session=session, synonyms=body.synonyms, author=principal.name)
    commit_and_reindex(request, session, settings)
    return SynonymsBody(synonyms=saved)
