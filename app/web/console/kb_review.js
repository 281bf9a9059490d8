// What needs an editor's decision: phrasings proposed by operators, and content gaps
// (questions the bot could not answer) with "create article".
import { api } from "./api.js";
import { h, replace } from "./dom.js";
import { t } from "./i18n.js";
import { DRAFT_KEY, select, tabs } from "./kb_common.js";
import {
  errorBox,
  errorText,
  formatTime,
  isMissing,
  notAvailable,
  spinner,
  statusBadge,
  toast,
} from "./ui.js";

export function renderSuggestions(main) {
  const status = select(
    "s-status",
    [["pending", t("suggestions.pending")], ["approved", t("suggestions.approved")], ["rejected", t("suggestions.rejected")]],
    "pending",
  );
  const list = h("div", { class: "suggestions" }, spinner());
  const load = async () => {
    try {
      const data = await api("/v1/kb/suggestions", { query: { status: status.value } });
      replace(list, data.items.length ? h("ul", { class: "cards" }, data.items.map(card)) : h("p", { class: "empty" }, t("suggestions.none")));
    } catch (error) {
      replace(list, errorBox(error));
    }
  };
  const card = (s) => {
    const phrasing = h("input", { value: s.phrasing, "aria-label": t("suggestions.phrasing"), disabled: s.status !== "pending", maxlength: 1000 });
    const decide = async (action) => {
      const body = action === "approve" && phrasing.value.trim() !== s.phrasing ? { phrasing: phrasing.value.trim() } : undefined;
      try {
        await api(`/v1/kb/suggestions/${s.id}/${action}`, { method: "POST", json: body });
        toast(t(`suggestions.done.${action}`), "ok");
        load();
      } catch (error) {
        toast(errorText(error), "error");
      }
    };
    return h(
      "li",
      { class: "card suggestion", dataset: { suggestionId: String(s.id) } },
      h("p", null, t("suggestions.for"), " ", h("a", { href: `#/kb/article/${s.article_id}`, class: "mono" }, s.article_id)),
      phrasing,
      h(
        "p",
        { class: "muted small" },
        [s.proposed_by ? t("suggestions.by", { name: s.proposed_by }) : null, s.handoff_id ? t("suggestions.fromHandoff", { id: s.handoff_id }) : null, formatTime(s.created_at), s.decided_by ? t("suggestions.decidedBy", { name: s.decided_by }) : null]
          .filter(Boolean)
          .join(" · "),
      ),
      s.status === "pending"
        ? h(
            "div",
            { class: "row" },
            h("button", { type: "button", class: "primary", onclick: () => decide("approve") }, t("suggestions.approve")),
            h("button", { type: "button", onclick: () => decide("reject") }, t("suggestions.reject")),
          )
        : statusBadge(s.status),
    );
  };
  status.addEventListener("change", load);
  replace(
    main,
    h(
      "section",
      { class: "page" },
      h("div", { class: "page-head" }, h("h1", null, t("suggestions.title"))),
      tabs("#/kb/suggestions"),
      h("p", { class: "muted" }, t("suggestions.intro")),
      h("div", { class: "filters" }, h("label", { for: "s-status" }, t("kb.status")), status),
      list,
    ),
  );
  load();
}

export function trendText(trend) {
  // {previous, change, direction}: direction is up, down, flat, or new (not seen before).
  if (!trend || typeof trend !== "object") return "";
  const arrow = { up: "↑", down: "↓", flat: "→", new: "★" }[trend.direction] || "";
  const change =
    typeof trend.change === "number" && trend.direction !== "flat"
      ? ` ${trend.change > 0 ? "+" : ""}${Math.round(trend.change * 100)}%`
      : "";
  return `${arrow} ${t(`gaps.trend.${trend.direction}`)}${change}`.trim();
}

export async function createFromGap(gap) {
  // The analytics API drafts an article from the gap's questions (a draft never answers);
  // the editor opens on it to write the answer and publish.
  try {
    const draft = await api(`/v1/analytics/gaps/${encodeURIComponent(gap.id)}/draft`, { method: "POST" });
    toast(draft.created ? t("gaps.drafted") : t("gaps.draftExists"), "ok");
    location.hash = `#/kb/article/${draft.article_id}`;
  } catch (error) {
    if (!isMissing(error)) {
      toast(errorText(error), "error");
      return;
    }
    // No drafting on this server: start a new article with the gap's questions.
    sessionStorage.setItem(
      DRAFT_KEY,
      JSON.stringify({ title: gap.label || "", questions: gap.examples || [], language: gap.language || undefined, status: "draft" }),
    );
    location.hash = "#/kb/new";
  }
}

export function gapList(gaps, { limit, canDraft = true } = {}) {
  const items = limit ? gaps.slice(0, limit) : gaps;
  return h(
    "ul",
    { class: "gaps" },
    items.map((gap) =>
      h(
        "li",
        { class: "gap", dataset: { gapId: String(gap.id) } },
        h(
          "div",
          { class: "gap-head" },
          h("strong", { class: "gap-label" }, gap.label),
          h("span", { class: "badge" }, t("gaps.count", { n: gap.count })),
          gap.language ? h("span", { class: "badge" }, gap.language) : null,
          h("span", { class: `trend trend-${gap.trend ? gap.trend.direction : ""}` }, trendText(gap.trend)),
        ),
        gap.examples && gap.examples.length
          ? h("ul", { class: "examples" }, gap.examples.slice(0, 3).map((e) => h("li", null, h("q", null, e))))
          : null,
        canDraft
          ? h("button", { type: "button", class: "small", "aria-label": t("gaps.createNamed", { label: gap.label }), onclick: () => createFromGap(gap) }, t("gaps.create"))
          : null,
      ),
    ),
  );
}

export function renderGaps(main) {
  const body = h("div", null, spinner());
  replace(
    main,
    h(
      "section",
      { class: "page" },
      h("div", { class: "page-head" }, h("h1", null, t("gaps.title"))),
      tabs("#/kb/gaps"),
      h("p", { class: "muted" }, t("gaps.intro")),
      body,
    ),
  );
  api("/v1/analytics/gaps")
    .then((data) => {
      const gaps = (data && data.gaps) || [];
      replace(body, gaps.length ? gapList(gaps) : h("p", { class: "empty" }, t("gaps.none")));
    })
    .catch((error) => replace(body, isMissing(error) ? notAvailable(t("gaps.title")) : errorBox(error)));
}
