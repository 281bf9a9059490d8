// Uploading articles (JSON, CSV, Markdown, zip, HTML) and the import report.
import { api, ApiError } from "./api.js";
import { h, replace } from "./dom.js";
import { t } from "./i18n.js";
import { tabs, warningsView } from "./kb_common.js";
import { errorText, formatNumber, spinner } from "./ui.js";

function reportView(report) {
  const stat = (label, value, kind) => h("div", { class: `stat ${kind || ""}` }, h("span", { class: "stat-value" }, formatNumber(value)), h("span", { class: "stat-label" }, label));
  const idLinks = (ids) => h("ul", { class: "id-list" }, ids.map((id) => h("li", null, h("a", { href: `#/kb/article/${id}`, class: "mono" }, id))));
  const rejected = report.rejected || [];
  return h(
    "section",
    { class: "card report", "aria-labelledby": "report-title" },
    h("h2", { id: "report-title" }, t("import.report")),
    h(
      "div",
      { class: "stats" },
      stat(t("import.created"), report.created || 0, "ok"),
      stat(t("import.updated"), report.updated || 0),
      stat(t("import.unchanged"), report.unchanged || 0),
      stat(t("import.rejected"), rejected.length, rejected.length ? "bad" : ""),
    ),
    report.atomic && rejected.length ? h("p", { class: "form-error" }, t("import.atomicRejected")) : null,
    report.created_ids && report.created_ids.length ? [h("h3", null, t("import.createdIds")), idLinks(report.created_ids)] : null,
    report.updated_ids && report.updated_ids.length ? [h("h3", null, t("import.updatedIds")), idLinks(report.updated_ids)] : null,
    rejected.length
      ? [
          h("h3", null, t("import.rejectedRows")),
          h(
            "table",
            { class: "table rejected" },
            h("thead", null, h("tr", null, [t("import.file"), t("import.line"), "id", t("import.reason")].map((c) => h("th", { scope: "col" }, c)))),
            h("tbody", null, rejected.map((r) => h("tr", null, h("td", null, r.file), h("td", null, r.line ?? "—"), h("td", { class: "mono" }, r.id ?? "—"), h("td", null, r.reason)))),
          ),
        ]
      : null,
    warningsView(report.warnings),
    report.kb_version ? h("p", { class: "muted small" }, t("import.version", { v: report.kb_version })) : null,
  );
}

export function renderImport(main) {
  const files = h("input", { id: "import-files", type: "file", name: "file", multiple: true, accept: ".json,.csv,.md,.markdown,.zip,.html,.htm" });
  const atomic = h("input", { id: "import-atomic", type: "checkbox" });
  const result = h("div", { class: "import-result", "aria-live": "polite" });
  const button = h("button", { type: "submit", class: "primary" }, t("import.upload"));
  const upload = async (event) => {
    event.preventDefault();
    if (!files.files.length) {
      replace(result, h("p", { class: "form-error", role: "alert" }, t("import.chooseFile")));
      return;
    }
    const form = new FormData();
    for (const file of files.files) form.append("file", file, file.name);
    button.disabled = true;
    replace(result, spinner());
    try {
      const report = await api("/v1/articles/import", { method: "POST", form, query: { atomic: atomic.checked ? "true" : "false" } });
      replace(result, reportView(report));
    } catch (error) {
      // A whole-file error or an atomic import with rejected rows still carries a report.
      const body = error instanceof ApiError ? error.body : {};
      replace(
        result,
        h("p", { class: "form-error", role: "alert" }, errorText(error)),
        body && body.rejected ? reportView({ ...body, atomic: atomic.checked }) : null,
      );
    } finally {
      button.disabled = false;
    }
  };
  replace(
    main,
    h(
      "section",
      { class: "page" },
      h("div", { class: "page-head" }, h("h1", null, t("import.title"))),
      tabs("#/kb/import"),
      h(
        "form",
        { class: "card import-form", onsubmit: upload },
        h("p", null, t("import.intro")),
        h("div", { class: "field" }, h("label", { for: "import-files" }, t("import.files")), files),
        h("div", { class: "field check" }, atomic, h("label", { for: "import-atomic" }, t("import.atomic"))),
        button,
      ),
      result,
    ),
  );
}
