"""Revisions and restoring them, the audit log (admin), and the regression set."""

from fastapi import APIRouter, Query, Request

from app.dependencies import MAX_BIG_ID, AdminDep, EditorDep, RowId, SessionDep, SettingsDep
from app.errors import InvalidInput
from app.kb import audit, quality, revisions, service
from app.kb.responses import holder, saved_article
from app.kb.schemas import (
    ArticleSaved,
    AuditList,
    AuditOut,
    RegressionSet,
    RevisionList,
    RevisionOut,
)
from app.openapi import problems

router = APIRouter()


@router.get(
    "/articles/{article_id}/revisions", response_model=RevisionList, responses=problems(404)
)
def list_revisions(article_id: str, session: SessionDep, _: EditorDep) -> RevisionList:
    rows = revisions.list_revisions(session=session, article_id=article_id)
    return RevisionList(article_id=article_id, items=[RevisionOut.model_validate(r) for r in rows])


@router.post(
    "/articles/{article_id}/revisions/{number}/restore",
    response_model=ArticleSaved,
    responses=problems(404, 409),
)
def restore_revision(
    article_id: str,
    number: RowId,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: EditorDep,
) -> ArticleSaved:
    before = holder(request).index
    article = service.restore_revision(
        session=session, article_id=article_id, number=number, author=principal.name
    )
    return saved_article(
        request=request, session=session, settings=settings, article=article, before=before
    )


@router.get("/audit", response_model=AuditList)
def list_audit(
    session: SessionDep,
    _: AdminDep,
    author: str | None = None,
    action: str | None = None,
    target: str | None = None,
    limit: int = Query(default=100, ge=1, le=1000),
    offset: int = Query(default=0, ge=0, le=MAX_BIG_ID),
) -> AuditList:
    rows, total = audit.list_entries(
        session=session, author=author, action=action, target=target, limit=limit, offset=offset
    )
    return AuditList(items=[AuditOut.model_validate(r) for r in rows], total=total)


@router.get("/kb/regression-set", response_model=RegressionSet)
def get_regression_set(session: SessionDep, _: EditorDep) -> RegressionSet:
    rows = quality.get_regression_set(session=session)
    return RegressionSet.model_validate(
        {"items": [{"text": r.text, "expected_article_id": r.expected_article_id} for r in rows]}
    )


@router.put("/kb/regression-set", response_model=RegressionSet)
def put_regression_set(
    body: RegressionSet, session: SessionDep, principal: EditorDep
) -> RegressionSet:
    expected = {item.expected_article_id for item in body.items}
    unknown = expected - service.existing_ids(session=session, ids=list(expected))
    if unknown:
        raise InvalidInput(
            f"Unknown expected_article_id: {', '.join(sorted(unknown))}.", unknown=sorted(unknown)
        )
    quality.replace_regression_set(session=session, items=body.items)
    audit.record(
        session=session,
        author=principal.name,
        action="regression_set.replaced",
        count=len(body.items),
    )
    return body
