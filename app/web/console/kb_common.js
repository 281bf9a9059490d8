// Shared pieces of the knowledge-base pages: tabs, selects, quality warnings.
import { h } from "./dom.js";
import { t } from "./i18n.js";

export const DRAFT_KEY = "answerdesk.console.newArticle";

export const SLUG = /^[a-z0-9][a-z0-9_-]{0,199}$/;

export function tabs(active) {
  const items = [
    ["#/kb", "kb.tab.articles"],
    ["#/kb/import", "kb.tab.import"],
    ["#/kb/suggestions", "kb.tab.suggestions"],
    ["#/kb/gaps", "kb.tab.gaps"],
  ];
  return h(
    "nav",
    { class: "tabs", "aria-label": t("nav.kb") },
    items.map(([href, key]) =>
      h("a", { href, class: "tab", "aria-current": href === active ? "page" : null }, t(key)),
    ),
  );
}

export function select(id, options, value) {
  return h(
    "select",
    { id, name: id },
    options.map(([v, label]) => h("option", { value: v, selected: v === value ? true : null }, label)),
  );
}

export function warningsView(warnings) {
  if (!warnings || !warnings.length) return null;
  return h(
    "div",
    { class: "card warnings", role: "status" },
    h("h2", null, t("kb.warnings")),
    h("ul", null, warnings.map((w) => h("li", null, h("span", { class: "badge warn" }, w.kind), " ", w.message))),
  );
}
