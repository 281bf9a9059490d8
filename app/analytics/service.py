"""Analytics queries: the summary, time series and per-article table over the roll-ups.

Every figure is about the conversations that *started* in [start, end) (UTC), with what
happened in them since; see docs/METRICS.md. Whole days are read from `analytics_daily`,
the partial days at the edges and hourly series from `analytics_conversations`.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.analytics import metrics
from app.analytics.models import ArticleFacts, ConversationFacts, DailyRollup, HandoffFacts
from app.analytics.rollup import fact_sums
from app.errors import InvalidInput
from app.kb.models import Article
from app.settings import Settings

DEFAULT_DAYS = 30
MAX_POINTS = {"hour": 24 * 93, "day": 3700}
TIMESERIES_METRICS = (
    "conversations",
    "deflection_rate",
    "handoff_rate",
    "automated_resolution_rate",
)


@dataclass(frozen=True, slots=True)
class Scope:
    """What to count: conversations started in [start, end), optionally one channel/language."""

    start: datetime
    end: datetime
    channel: str | None = None
    language: str | None = None

    def apply(self, query: Any, model: Any, started: Any) -> Any:
        query = query.where(started >= self.start, started < self.end)
        if self.channel:
            query = query.where(model.channel == self.channel)
        if self.language:
            query = query.where(model.language == self.language)
        return query


def parse_moment(value: str | None, *, name: str, end: bool) -> datetime | None:
    """An ISO date (a whole day: `to` includes it) or datetime; naive times are UTC."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            moment = datetime.combine(day, time(), tzinfo=UTC)
            return moment + timedelta(days=1) if end else moment
        if "T" in text and " " in text:  # an unencoded "+03:00" arrives as " 03:00"
            text = text.replace(" ", "+")
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise InvalidInput(
            f"{name}: expected an ISO date (2025-01-31) or datetime (2025-01-31T12:00:00Z), "
            f"got {value!r}.",
            field=name,
        ) from exc
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def make_scope(
    *,
    start: str | None,
    end: str | None,
    channel: str | None,
    language: str | None,
    now: datetime,
) -> Scope:
    end_at = parse_moment(end, name="to", end=True) or now
    start_at = parse_moment(start, name="from", end=False) or end_at - timedelta(days=DEFAULT_DAYS)
    if start_at >= end_at:
        raise InvalidInput("from must be earlier than to.", field="from")
    return Scope(start_at, end_at, channel or None, language or None)


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def _add(total: dict[str, int], row: Any) -> None:
    for name, value in zip(metrics.COUNTS, row, strict=True):
        total[name] += int(value or 0)


def _daily_sums(session: Session, scope: Scope, first: date, last: date) -> dict[str, int]:
    d = DailyRollup
    columns = [func.coalesce(func.sum(getattr(d, name)), 0) for name in metrics.COUNTS]
    query = select(*columns).where(d.day >= first, d.day < last)
    if scope.channel:
        query = query.where(d.channel == scope.channel)
    if scope.language:
        query = query.where(d.language == scope.language)
    total = dict.fromkeys(metrics.COUNTS, 0)
    _add(total, session.execute(query).one())
    return total


def _fact_sums(session: Session, scope: Scope, now: datetime) -> dict[str, int]:
    f = ConversationFacts
    query = scope.apply(select(*fact_sums(now)), f, f.started_at)
    total = dict.fromkeys(metrics.COUNTS, 0)
    _add(total, session.execute(query).one())
    return total


def sums(*, session: Session, scope: Scope, now: datetime) -> dict[str, int]:
    """Whole days from the daily roll-up; the partial days at either edge from the facts."""
    first = scope.start.date() + timedelta(days=0 if scope.start.time() == time() else 1)
    last = scope.end.date()
    if _day_start(first) >= scope.end or first >= last:
        return _fact_sums(session, scope, now)
    total = _daily_sums(session, scope, first, last)
    edges = [
        Scope(scope.start, _day_start(first), scope.channel, scope.language),
        Scope(_day_start(last), scope.end, scope.channel, scope.language),
    ]
    for edge in edges:
        if edge.start < edge.end:
            part = _fact_sums(session, edge, now)
            for name in metrics.COUNTS:
                total[name] += part[name]
    return total


def summary(*, session: Session, scope: Scope, now: datetime, settings: Settings) -> dict[str, Any]:
    h = HandoffFacts
    # One pass over the period's handoffs, answered from a covering index.
    reasons: dict[str, int] = {}
    first_response: list[float] = []
    resolution: list[float] = []
    query = scope.apply(
        select(h.reason, h.first_response_seconds, h.resolution_seconds), h, h.started_at
    )
    for reason, first, resolved in session.execute(query):
        reasons[reason] = reasons.get(reason, 0) + 1
        if first is not None:
            first_response.append(first)
        if resolved is not None:
            resolution.append(resolved)
    body = metrics.summarize(
        sums=sums(session=session, scope=scope, now=now),
        handoffs_by_reason=reasons,
        first_response=first_response,
        resolution=resolution,
        minutes_per_ticket=settings.minutes_per_ticket,
        price_per_automated_resolution=settings.price_per_automated_resolution,
        currency=settings.currency,
    )
    return {
        "from": scope.start.isoformat(),
        "to": scope.end.isoformat(),
        "channel": scope.channel,
        "language": scope.language,
        **body,
    }


def _metric_value(metric: str, total: dict[str, int]) -> float:
    conversations = total["conversations"]
    if metric == "conversations":
        return float(conversations)
    numerator = {
        "deflection_rate": total["deflected"],
        "handoff_rate": total["handed_off"],
        "automated_resolution_rate": total["automated"],
    }[metric]
    return metrics.ratio(numerator, conversations)


def buckets(scope: Scope, interval: str) -> list[datetime]:
    """Every UTC day (or hour) that overlaps [start, end)."""
    step = timedelta(days=1) if interval == "day" else timedelta(hours=1)
    if interval == "day":
        first = _day_start(scope.start.date())
    else:
        first = scope.start.replace(minute=0, second=0, microsecond=0)
    count = -(-(scope.end - first) // step)
    if count > MAX_POINTS[interval]:
        raise InvalidInput(
            f"That range has {count} {interval}s; at most {MAX_POINTS[interval]} points are "
            "returned. Narrow the range or use a longer interval.",
            field="interval",
        )
    return [first + step * i for i in range(count)]


def timeseries(
    *, session: Session, scope: Scope, metric: str, interval: str, now: datetime
) -> dict[str, Any]:
    points = buckets(scope, interval)
    by_bucket: dict[datetime, dict[str, int]] = {}
    if interval == "day" and points:
        d = DailyRollup
        columns = [func.coalesce(func.sum(getattr(d, name)), 0) for name in metrics.COUNTS]
        query = select(d.day, *columns).where(d.day >= points[0].date(), d.day <= points[-1].date())
        if scope.channel:
            query = query.where(d.channel == scope.channel)
        if scope.language:
            query = query.where(d.language == scope.language)
        for row in session.execute(query.group_by(d.day)):
            total = dict.fromkeys(metrics.COUNTS, 0)
            _add(total, row[1:])
            by_bucket[_day_start(row[0])] = total
    elif points:
        f = ConversationFacts
        wide = Scope(points[0], points[-1] + timedelta(hours=1), scope.channel, scope.language)
        query = wide.apply(select(f.hour, *fact_sums(now)), f, f.started_at).group_by(f.hour)
        for row in session.execute(query):
            total = dict.fromkeys(metrics.COUNTS, 0)
            _add(total, row[1:])
            by_bucket[row[0]] = total
    empty = dict.fromkeys(metrics.COUNTS, 0)
    return {
        "metric": metric,
        "interval": interval,
        "from": scope.start.isoformat(),
        "to": scope.end.isoformat(),
        "points": [
            {
                "t": point.isoformat(),
                "value": _metric_value(metric, by_bucket.get(point, empty)),
                "conversations": by_bucket.get(point, empty)["conversations"],
            }
            for point in points
        ],
    }


def articles(*, session: Session, scope: Scope) -> dict[str, Any]:
    a = ArticleFacts
    query = scope.apply(
        select(
            a.article_id,
            func.sum(a.served),
            func.sum(a.thumbs_up),
            func.sum(a.thumbs_down),
            func.sum(a.handoffs_after),
        ),
        a,
        a.started_at,
    ).group_by(a.article_id)
    rows = session.execute(query).all()
    ids = [row[0] for row in rows]
    titles = dict(
        session.execute(select(Article.id, Article.title).where(Article.id.in_(ids))).all()
    )
    items = [
        {
            "article_id": article_id,
            "title": titles.get(article_id),
            "served": int(served),
            "helpful_share": metrics.share_or_none(up, up + down),
            "thumbs_up": int(up),
            "thumbs_down": int(down),
            "handoffs_after": int(after),
        }
        for article_id, served, up, down, after in rows
    ]
    items.sort(key=lambda item: (-item["served"], item["article_id"]))
    return {"from": scope.start.isoformat(), "to": scope.end.isoformat(), "items": items}
