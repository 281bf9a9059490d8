// The dashboard: headline rates, deflection and handoff rate over time as hand-drawn SVG,
// handoff reasons, the top content gaps and the per-article table.
import { api } from "./api.js";
import { h, replace, s } from "./dom.js";
import { getLang, t } from "./i18n.js";
import { gapList } from "./kb_review.js";
import {
  errorBox,
  formatDuration,
  formatNumber,
  formatPercent,
  isMissing,
  notAvailable,
  parseTime,
  spinner,
} from "./ui.js";

const WIDTH = 640;
const HEIGHT = 220;
const PAD = { top: 16, right: 16, bottom: 32, left: 48 };

function dayLabel(value) {
  const date = value instanceof Date ? value : parseTime(value);
  if (!date) return String(value);
  return new Intl.DateTimeFormat(getLang(), { day: "numeric", month: "short", timeZone: "UTC" }).format(date);
}

function rangeLabel(from, to) {
  // "to" is the exclusive end of the period: show the last day it includes.
  const end = parseTime(to);
  return end ? `${dayLabel(from)} – ${dayLabel(new Date(end.getTime() - 1))}` : "";
}

export function lineChart(points, { label, percent = true, className = "" } = {}) {
  // A rate on a day without conversations is not 0 %, it is unknown: such days break the
  // line instead of pulling it down to zero.
  const values = points.map((p) =>
    percent && p.conversations === 0 ? null : Number(p.value) || 0,
  );
  const known = values.filter((v) => v !== null);
  const top = percent ? 1 : Math.max(1, ...known) * 1.1;
  const innerW = WIDTH - PAD.left - PAD.right;
  const innerH = HEIGHT - PAD.top - PAD.bottom;
  const x = (i) => PAD.left + (points.length > 1 ? (i * innerW) / (points.length - 1) : innerW / 2);
  const y = (v) => PAD.top + innerH - (v / top) * innerH;
  const grid = [0, 0.25, 0.5, 0.75, 1].map((f) => {
    const value = f * top;
    return s(
      "g",
      { class: "grid" },
      s("line", { x1: PAD.left, x2: WIDTH - PAD.right, y1: y(value), y2: y(value) }),
      s("text", { x: PAD.left - 6, y: y(value) + 4, "text-anchor": "end" }, percent ? formatPercent(value) : formatNumber(Math.round(value))),
    );
  });
  const ticks = [];
  const step = Math.max(1, Math.ceil(points.length / 6));
  points.forEach((p, i) => {
    const last = i === points.length - 1;
    if ((i % step === 0 && points.length - 1 - i >= step / 2) || last) {
      const anchor = points.length === 1 ? "middle" : i === 0 ? "start" : last ? "end" : "middle";
      ticks.push(s("text", { class: "tick", x: x(i), y: HEIGHT - 10, "text-anchor": anchor }, dayLabel(p.t)));
    }
  });
  let path = "";
  let area = "";
  let run = [];
  const flush = () => {
    if (!run.length) return;
    const segment = run.map((i, k) => `${k ? "L" : "M"}${x(i).toFixed(1)},${y(values[i]).toFixed(1)}`).join(" ");
    path += `${path ? " " : ""}${segment}`;
    area += `${area ? " " : ""}${segment} L${x(run[run.length - 1]).toFixed(1)},${y(0).toFixed(1)} L${x(run[0]).toFixed(1)},${y(0).toFixed(1)} Z`;
    run = [];
  };
  values.forEach((v, i) => (v === null ? flush() : run.push(i)));
  flush();
  return s(
    "svg",
    {
      class: `chart line-chart ${className}`,
      viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
      role: "img",
      "aria-label": label,
      preserveAspectRatio: "xMidYMid meet",
      dataset: { points: String(known.length) },
    },
    s("title", null, label),
    grid,
    path ? s("path", { class: "area", d: area }) : null,
    path ? s("path", { class: "line", d: path }) : null,
    points.map((p, i) =>
      values[i] === null
        ? null
        : s(
            "circle",
            { class: "point", cx: x(i), cy: y(values[i]), r: points.length > 40 ? 2 : 3.5 },
            s("title", null, `${dayLabel(p.t)}: ${percent ? formatPercent(values[i]) : formatNumber(values[i])}`),
          ),
    ),
    ticks,
    known.length ? null : s("text", { class: "no-data", x: WIDTH / 2, y: HEIGHT / 2, "text-anchor": "middle" }, t("dashboard.noData")),
  );
}

function reasonEntries(byReason) {
  if (!byReason) return [];
  if (Array.isArray(byReason)) {
    return byReason.map((r) => [r.reason ?? r.label ?? r.key, Number(r.count ?? r.value ?? 0)]);
  }
  return Object.entries(byReason).map(([reason, count]) => [reason, Number(count) || 0]);
}

export function barChart(entries, { label } = {}) {
  const sorted = [...entries].sort((a, b) => b[1] - a[1]);
  const max = Math.max(1, ...sorted.map(([, c]) => c));
  const row = 28;
  const labelW = 190;
  const height = Math.max(row, sorted.length * row) + 8;
  const width = WIDTH;
  return s(
    "svg",
    { class: "chart bar-chart", viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": label, dataset: { bars: String(sorted.length) } },
    s("title", null, label),
    sorted.map(([reason, count], i) => {
      const name = t(`reason.${reason}`) === `reason.${reason}` ? reason : t(`reason.${reason}`);
      const barW = ((width - labelW - 60) * count) / max;
      return s(
        "g",
        { class: `bar reason-${String(reason).replace(/[^a-z_]/g, "")}`, transform: `translate(0, ${i * row + 4})` },
        s("text", { class: "bar-label", x: labelW - 8, y: 17, "text-anchor": "end" }, name),
        s("rect", { x: labelW, y: 4, width: Math.max(barW, count ? 2 : 0), height: row - 10, rx: 3 }, s("title", null, `${name}: ${count}`)),
        s("text", { class: "bar-value", x: labelW + barW + 6, y: 17 }, formatNumber(count)),
      );
    }),
  );
}

function kpi(label, value, hint) {
  return h("div", { class: "kpi card" }, h("span", { class: "kpi-value" }, value), h("span", { class: "kpi-label" }, label), hint ? h("span", { class: "kpi-hint" }, hint) : null);
}

function section(title, ...content) {
  return h("section", { class: "card dashboard-section" }, h("h2", null, title), ...content);
}

async function safely(path, query) {
  try {
    return { data: await api(path, { query }) };
  } catch (error) {
    return { error };
  }
}

function failure(error, what) {
  return isMissing(error) ? notAvailable(what) : errorBox(error);
}

function articlesTable(items, me) {
  const sorted = [...items].sort((a, b) => (b.served || 0) - (a.served || 0));
  return h(
    "table",
    { class: "table article-stats" },
    h("thead", null, h("tr", null, ["dashboard.article", "dashboard.served", "dashboard.helpful", "dashboard.thumbs", "dashboard.handoffsAfter"].map((k) => h("th", { scope: "col" }, t(k))))),
    h(
      "tbody",
      null,
      sorted.map((a) =>
        h(
          "tr",
          null,
          h("td", null, me.role === "operator" ? a.title || a.article_id : h("a", { href: `#/kb/article/${a.article_id}` }, a.title || a.article_id)),
          h("td", { class: "num" }, formatNumber(a.served)),
          h("td", { class: "num" }, formatPercent(a.helpful_share)),
          h("td", { class: "num" }, `${formatNumber(a.thumbs_up ?? 0)} / ${formatNumber(a.thumbs_down ?? 0)}`),
          h("td", { class: "num" }, formatNumber(a.handoffs_after)),
        ),
      ),
    ),
  );
}

const PERIOD_KEY = "answerdesk.console.period";
const PERIODS = [7, 30, 90];

function periodQuery(days) {
  // Whole UTC days, today included: "to" is an inclusive date, as the API reads it.
  const today = new Date();
  const start = new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate() - (days - 1)));
  return { from: start.toISOString().slice(0, 10), to: today.toISOString().slice(0, 10) };
}

export function renderDashboard(main, me) {
  const body = h("div", { class: "dashboard" }, spinner());
  const saved = Number(localStorage.getItem(PERIOD_KEY));
  const period = h(
    "select",
    { id: "period" },
    PERIODS.map((days) => h("option", { value: String(days), selected: days === (PERIODS.includes(saved) ? saved : 30) ? true : null }, t("dashboard.lastDays", { n: days }))),
  );
  const range = h("span", { class: "muted small" });
  replace(
    main,
    h(
      "section",
      { class: "page" },
      h(
        "div",
        { class: "page-head" },
        h("h1", null, t("dashboard.title")),
        h("div", { class: "period" }, h("label", { for: "period" }, t("dashboard.period")), period, range),
      ),
      body,
    ),
  );
  let generation = 0;
  const load = async () => {
    const mine = ++generation;
    const query = periodQuery(Number(period.value));
    localStorage.setItem(PERIOD_KEY, period.value);
    const [summary, deflection, handoff, articles, gaps] = await Promise.all([
      safely("/v1/analytics/summary", query),
      safely("/v1/analytics/timeseries", { ...query, metric: "deflection_rate", interval: "day" }),
      safely("/v1/analytics/timeseries", { ...query, metric: "handoff_rate", interval: "day" }),
      safely("/v1/analytics/articles", query),
      safely("/v1/analytics/gaps", { ...query, limit: 5 }),
    ]);
    if (mine !== generation) return;
    if ([summary, deflection, handoff, articles, gaps].every((r) => r.error && isMissing(r.error))) {
      replace(body, notAvailable(t("dashboard.title")));
      return;
    }
    const sum = summary.data || {};
    range.textContent = summary.data ? rangeLabel(sum.from, sum.to) : "";
    const median = sum.first_human_response_seconds && sum.first_human_response_seconds.p50;
    replace(
      body,
      summary.error
        ? failure(summary.error, t("dashboard.summary"))
        : h(
            "div",
            { class: "kpis" },
            kpi(t("dashboard.conversations"), formatNumber(sum.conversations), t("dashboard.conversationsHint")),
            kpi(t("dashboard.deflection"), formatPercent(sum.deflection_rate), t("dashboard.deflectionHint")),
            kpi(t("dashboard.automated"), formatPercent(sum.automated_resolution_rate), t("dashboard.automatedHint")),
            kpi(t("dashboard.handoffRate"), formatPercent(sum.handoff_rate), t("dashboard.handoffs", { n: sum.handoffs ?? 0 })),
            kpi(t("dashboard.firstResponse"), median === null || median === undefined ? "—" : formatDuration(median), t("dashboard.median")),
            kpi(
              t("dashboard.helpfulShare"),
              formatPercent(sum.csat && sum.csat.helpful_share),
              sum.csat ? `▲ ${formatNumber(sum.csat.thumbs_up)} · ▼ ${formatNumber(sum.csat.thumbs_down)}` : null,
            ),
          ),
      h(
        "div",
        { class: "chart-grid" },
        section(
          t("dashboard.deflectionOverTime"),
          deflection.error ? failure(deflection.error, t("dashboard.deflectionOverTime")) : lineChart(deflection.data.points || [], { label: t("dashboard.deflectionOverTime"), className: "deflection" }),
        ),
        section(
          t("dashboard.handoffOverTime"),
          handoff.error ? failure(handoff.error, t("dashboard.handoffOverTime")) : lineChart(handoff.data.points || [], { label: t("dashboard.handoffOverTime"), className: "handoff" }),
        ),
      ),
      h(
        "div",
        { class: "chart-grid" },
        section(
          t("dashboard.reasons"),
          summary.error
            ? failure(summary.error, t("dashboard.reasons"))
            : reasonEntries(sum.handoffs_by_reason).length
              ? barChart(reasonEntries(sum.handoffs_by_reason), { label: t("dashboard.reasons") })
              : h("p", { class: "empty" }, t("dashboard.noData")),
        ),
        section(
          t("dashboard.topGaps"),
          gaps.error
            ? failure(gaps.error, t("gaps.title"))
            : (gaps.data.gaps || []).length
              ? [
                  gapList(gaps.data.gaps, { limit: 5, canDraft: me.role !== "operator" }),
                  me.role !== "operator" ? h("a", { href: "#/kb/gaps" }, t("dashboard.allGaps")) : null,
                ]
              : h("p", { class: "empty" }, t("gaps.none")),
        ),
      ),
      section(
        t("dashboard.articles"),
        articles.error
          ? failure(articles.error, t("dashboard.articles"))
          : (articles.data.items || []).length
            ? articlesTable(articles.data.items, me)
            : h("p", { class: "empty" }, t("dashboard.noData")),
      ),
    );
  };
  period.addEventListener("change", load);
  load();
  return () => {
    generation += 1;
  };
}
