"""Analytics API (operators, editors, admins read; editors and admins draft) and /metrics."""

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from app.analytics import exports, gaps, rollup, service
from app.analytics.prometheus import render
from app.analytics.schemas import ArticleStatsList, DraftOut, GapList, Summary, Timeseries
from app.auth.service import Principal
from app.dependencies import EditorDep, SessionDep, SettingsDep, require_role
from app.handoff.dependencies import NowDep
from app.openapi import CSV, problems

router = APIRouter(prefix="/v1/analytics", tags=["analytics"], responses=problems(401, 403))
metrics_router = APIRouter(tags=["health"])

# Support leads may hold any role: operators see their queue's figures, editors the content's.
ReaderDep = Annotated[Principal, Depends(require_role("operator", "editor"))]
Format = Literal["json", "csv"]


def scope(
    request: Request,
    now: NowDep,
    from_: Annotated[
        str | None, Query(alias="from", description="ISO date or datetime (UTC if naive)")
    ] = None,
    to: Annotated[
        str | None, Query(description="ISO date (inclusive) or datetime (exclusive)")
    ] = None,
    channel: Annotated[str | None, Query(max_length=32)] = None,
    language: Annotated[str | None, Query(max_length=16)] = None,
) -> service.Scope:
    """The period and filters; first folds new conversations into the roll-ups."""
    rollup.catch_up(session_factory=request.app.state.session_factory, now=now)
    return service.make_scope(start=from_, end=to, channel=channel, language=language, now=now)


ScopeDep = Annotated[service.Scope, Depends(scope)]


@router.get("/summary", response_model=Summary, responses=CSV)
def summary(
    session: SessionDep,
    settings: SettingsDep,
    _: ReaderDep,
    now: NowDep,
    period: ScopeDep,
    format: Format = "json",
) -> Any:
    body = service.summary(session=session, scope=period, now=now, settings=settings)
    return exports.summary_csv(body) if format == "csv" else body


@router.get("/timeseries", response_model=Timeseries, responses=CSV)
def timeseries(
    session: SessionDep,
    _: ReaderDep,
    now: NowDep,
    period: ScopeDep,
    metric: Literal[
        "conversations", "deflection_rate", "handoff_rate", "automated_resolution_rate"
    ] = Query(),
    interval: Literal["day", "hour"] = "day",
    format: Format = "json",
) -> Any:
    body = service.timeseries(
        session=session, scope=period, metric=metric, interval=interval, now=now
    )
    return exports.timeseries_csv(body) if format == "csv" else body


@router.get("/articles", response_model=ArticleStatsList, responses=CSV)
def articles(session: SessionDep, _: ReaderDep, period: ScopeDep, format: Format = "json") -> Any:
    body = service.articles(session=session, scope=period)
    return exports.articles_csv(body) if format == "csv" else body


@router.get("/gaps", response_model=GapList, responses=CSV)
def list_gaps(
    session: SessionDep,
    _: ReaderDep,
    now: NowDep,
    period: ScopeDep,
    limit: int = Query(default=20, ge=1, le=200),
    format: Format = "json",
) -> Any:
    body = gaps.gaps_report(session=session, scope=period, now=now, limit=limit)
    session.commit()  # the gaps as shown, for a draft request that may follow at once
    return exports.gaps_csv(body) if format == "csv" else body


@router.post(
    "/gaps/{gap_id}/draft",
    response_model=DraftOut,
    responses={201: {"model": DraftOut, "description": "A new draft article"}, **problems(404)},
)
def draft_from_gap(
    gap_id: Annotated[str, Path(max_length=32)],
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    editor: EditorDep,
) -> DraftOut:
    article_id, created, count = gaps.draft_article(
        session=session,
        gap_id=gap_id,
        author=editor.name,
        default_language=settings.default_language,
    )
    session.commit()
    response.status_code = 201 if created else 200
    return DraftOut(
        gap_id=gap_id, article_id=article_id, status="draft", created=created, questions=count
    )


@metrics_router.get("/metrics", include_in_schema=False)
def prometheus_metrics(request: Request) -> Response:
    return render(request.app.state.session_factory)
