// Knowledge-base articles: the list with search and filters, the editor with a live
// Markdown preview, revisions and restore.
import { api } from "./api.js";
import { h, replace } from "./dom.js";
import { t } from "./i18n.js";
import { DRAFT_KEY, SLUG, select, tabs, warningsView } from "./kb_common.js";
import { renderMarkdown } from "./markdown.js";
import { errorBox, errorText, formatTime, spinner, statusBadge, toast } from "./ui.js";

export function renderArticleList(main) {
  const params = new URLSearchParams(sessionStorage.getItem("answerdesk.console.kbFilter") || "");
  const q = h("input", { id: "kb-q", type: "search", name: "q", value: params.get("q") || "", placeholder: t("kb.searchPlaceholder") });
  const language = select("kb-language", [["", t("kb.anyLanguage")], ["ru", "ru"], ["en", "en"]], params.get("language") || "");
  const status = select(
    "kb-status",
    [["", t("kb.anyStatus")], ["published", t("status.published")], ["draft", t("status.draft")]],
    params.get("status") || "",
  );
  const tag = h("input", { id: "kb-tag", name: "tag", value: params.get("tag") || "", placeholder: t("kb.tag") });
  const category = h("input", { id: "kb-category", name: "category", value: params.get("category") || "", placeholder: t("kb.category") });
  const results = h("div", { class: "results" }, spinner());
  const total = h("span", { class: "count" });
  const search = async (event) => {
    if (event) event.preventDefault();
    const query = { q: q.value.trim(), language: language.value, status: status.value, tag: tag.value.trim(), category: category.value.trim() };
    sessionStorage.setItem(
      "answerdesk.console.kbFilter",
      new URLSearchParams(Object.entries(query).filter(([, v]) => v)).toString(),
    );
    try {
      const list = await api("/v1/articles", { query: { ...query, limit: 500 } });
      total.textContent = t("kb.total", { n: list.total });
      replace(results, list.items.length ? articleTable(list.items) : h("p", { class: "empty" }, t("kb.nothing")));
    } catch (error) {
      replace(results, errorBox(error));
    }
  };
  for (const control of [language, status]) control.addEventListener("change", search);
  replace(
    main,
    h(
      "section",
      { class: "page" },
      h("div", { class: "page-head" }, h("h1", null, t("nav.kb")), h("a", { class: "button primary", href: "#/kb/new" }, t("kb.new"))),
      tabs("#/kb"),
      h(
        "form",
        { class: "filters", role: "search", onsubmit: search },
        h("label", { class: "visually-hidden", for: "kb-q" }, t("kb.search")),
        q,
        h("label", { class: "visually-hidden", for: "kb-language" }, t("kb.language")),
        language,
        h("label", { class: "visually-hidden", for: "kb-status" }, t("kb.status")),
        status,
        h("label", { class: "visually-hidden", for: "kb-tag" }, t("kb.tag")),
        tag,
        h("label", { class: "visually-hidden", for: "kb-category" }, t("kb.category")),
        category,
        h("button", { type: "submit" }, t("kb.search")),
        total,
      ),
      results,
    ),
  );
  search();
}

function articleTable(items) {
  return h(
    "table",
    { class: "table articles" },
    h(
      "thead",
      null,
      h("tr", null, ["kb.col.title", "kb.col.id", "kb.language", "kb.status", "kb.col.tags", "kb.col.updated"].map((k) => h("th", { scope: "col" }, t(k)))),
    ),
    h(
      "tbody",
      null,
      items.map((a) =>
        h(
          "tr",
          { dataset: { articleId: a.id } },
          h("td", null, h("a", { href: `#/kb/article/${a.id}` }, a.title)),
          h("td", { class: "mono" }, a.id),
          h("td", null, a.language),
          h("td", null, statusBadge(a.status), a.always_handoff ? h("span", { class: "badge warn" }, t("kb.alwaysHandoffShort")) : null),
          h("td", null, [...a.tags, ...(a.categories || [])].map((tag) => h("span", { class: "chip static" }, tag))),
          h("td", null, formatTime(a.updated_at)),
        ),
      ),
    ),
  );
}

function lines(text) {
  return text.split("\n").map((s) => s.trim()).filter(Boolean);
}

function commaList(text) {
  return text.split(/[,|]/).map((s) => s.trim()).filter(Boolean);
}

export function renderEditor(main, articleId) {
  const isNew = articleId === null;
  const field = (id, attrs = {}) => h("input", { id, name: id, ...attrs });
  const form = {
    id: field("a-id", { required: true, pattern: SLUG.source, disabled: !isNew, class: "mono" }),
    title: field("a-title", { required: true, maxlength: 500 }),
    language: field("a-language", { required: true, value: "ru", pattern: "[a-z]{2,3}([-_][A-Za-z]{2,4})?", size: 6 }),
    status: select("a-status", [["published", t("status.published")], ["draft", t("status.draft")]], "published"),
    questions: h("textarea", { id: "a-questions", rows: 5 }),
    tags: field("a-tags"),
    categories: field("a-categories"),
    group: field("a-group"),
    always: h("input", { id: "a-always", type: "checkbox" }),
    answer: field("a-answer", { type: "number", min: 0, max: 1, step: 0.01 }),
    handoff: field("a-handoff", { type: "number", min: 0, max: 1, step: 0.01 }),
    body: h("textarea", { id: "a-body", rows: 18, class: "mono" }),
  };
  const preview = h("div", { class: "preview", "aria-live": "off" });
  const feedback = h("div", { class: "feedback" });
  const revisions = h("section", { class: "card revisions" });
  const refreshPreview = () => replace(preview, renderMarkdown(form.body.value));
  form.body.addEventListener("input", refreshPreview);
  let loaded = null;

  const fill = (a) => {
    form.id.value = a.id || "";
    form.title.value = a.title || "";
    form.language.value = a.language || "ru";
    form.status.value = a.status || "published";
    form.questions.value = (a.questions || []).join("\n");
    form.tags.value = (a.tags || []).join(", ");
    form.categories.value = (a.categories || []).join(", ");
    form.group.value = a.translation_group || "";
    form.always.checked = Boolean(a.always_handoff);
    form.answer.value = a.answer_threshold ?? "";
    form.handoff.value = a.handoff_threshold ?? "";
    form.body.value = a.body || "";
    refreshPreview();
  };

  const number = (input) => (input.value === "" ? null : Number(input.value));
  const save = async (event) => {
    event.preventDefault();
    const id = form.id.value.trim();
    if (!SLUG.test(id)) {
      replace(feedback, h("p", { class: "form-error", role: "alert" }, t("kb.badId")));
      return;
    }
    const body = {
      language: form.language.value.trim(),
      title: form.title.value,
      body: form.body.value,
      questions: lines(form.questions.value),
      tags: commaList(form.tags.value),
      categories: commaList(form.categories.value),
      status: form.status.value,
      translation_group: form.group.value.trim() || null,
      always_handoff: form.always.checked,
      answer_threshold: number(form.answer),
      handoff_threshold: number(form.handoff),
    };
    try {
      const saved = await api(`/v1/articles/${id}`, { method: "PUT", json: body });
      sessionStorage.removeItem(DRAFT_KEY);
      toast(t("kb.saved"), "ok");
      if (isNew) {
        location.hash = `#/kb/article/${id}`;
        return;
      }
      loaded = saved;
      fill(saved);
      replace(feedback, h("p", { class: "ok", role: "status" }, t("kb.savedAt", { time: formatTime(saved.updated_at) })), warningsView(saved.warnings));
      loadRevisions();
    } catch (error) {
      replace(feedback, h("p", { class: "form-error", role: "alert" }, errorText(error)));
    }
  };

  const remove = async () => {
    if (!confirm(t("kb.confirmDelete", { id: articleId }))) return;
    try {
      await api(`/v1/articles/${articleId}`, { method: "DELETE" });
      toast(t("kb.deleted"), "ok");
      location.hash = "#/kb";
    } catch (error) {
      toast(errorText(error), "error");
    }
  };

  const loadRevisions = async () => {
    if (isNew) return;
    let list;
    try {
      list = await api(`/v1/articles/${articleId}/revisions`);
    } catch (error) {
      replace(revisions, errorBox(error));
      return;
    }
    const detail = h("div", { class: "revision-detail" });
    replace(
      revisions,
      h("h2", null, t("kb.revisions")),
      h(
        "table",
        { class: "table" },
        h("thead", null, h("tr", null, ["#", t("kb.rev.action"), t("kb.rev.author"), t("kb.rev.when"), t("kb.rev.changed"), ""].map((c) => h("th", { scope: "col" }, c)))),
        h(
          "tbody",
          null,
          list.items.map((r, index) =>
            h(
              "tr",
              { dataset: { revision: String(r.number) } },
              h("td", null, String(r.number)),
              h("td", null, t(`kb.action.${r.action}`), r.source && r.source !== "api" ? h("span", { class: "muted small" }, ` (${r.source})`) : null),
              h("td", null, r.author),
              h("td", null, formatTime(r.created_at)),
              h("td", null, (r.changed || []).join(", ")),
              h(
                "td",
                { class: "actions" },
                h("button", { type: "button", class: "small", onclick: () => showRevision(detail, r) }, t("kb.rev.show")),
                index === 0 && r.action !== "deleted"
                  ? h("span", { class: "muted small" }, t("kb.rev.current"))
                  : h(
                      "button",
                      {
                        type: "button",
                        class: "small",
                        "aria-label": t("kb.rev.restoreNamed", { n: r.number }),
                        onclick: () => restore(r.number),
                      },
                      t("kb.rev.restore"),
                    ),
              ),
            ),
          ),
        ),
      ),
      detail,
    );
  };

  const showRevision = (box, r) => {
    const c = r.content || {};
    replace(
      box,
      h("h3", null, t("kb.rev.number", { n: r.number }), " — ", c.title || ""),
      Object.keys(r.diff || {}).length
        ? h(
            "dl",
            { class: "details diff" },
            Object.entries(r.diff).map(([key, change]) => [
              h("dt", null, key),
              h("dd", null, typeof change === "object" ? JSON.stringify(change) : String(change)),
            ]),
          )
        : null,
      renderMarkdown(c.body || ""),
    );
  };

  const restore = async (number) => {
    if (!confirm(t("kb.rev.confirmRestore", { n: number }))) return;
    try {
      const saved = await api(`/v1/articles/${articleId}/revisions/${number}/restore`, { method: "POST" });
      fill(saved);
      toast(t("kb.rev.restored", { n: number }), "ok");
      replace(feedback, warningsView(saved.warnings));
      loadRevisions();
    } catch (error) {
      toast(errorText(error), "error");
    }
  };

  const row = (label, control, hint) =>
    h("div", { class: "field" }, h("label", { for: control.id }, label), control, hint ? h("p", { class: "hint" }, hint) : null);

  replace(
    main,
    h(
      "section",
      { class: "page" },
      h(
        "div",
        { class: "page-head" },
        h("h1", null, isNew ? t("kb.new") : t("kb.edit")),
        isNew ? null : h("span", { class: "mono muted" }, articleId),
      ),
      tabs("#/kb"),
      h(
        "form",
        { class: "editor", onsubmit: save },
        h(
          "div",
          { class: "editor-meta card" },
          row(t("kb.col.id"), form.id, isNew ? t("kb.idHint") : null),
          row(t("kb.col.title"), form.title),
          h("div", { class: "field-row" }, row(t("kb.language"), form.language), row(t("kb.status"), form.status)),
          row(t("kb.questions"), form.questions, t("kb.questionsHint")),
          row(t("kb.col.tags"), form.tags, t("kb.commaHint")),
          row(t("kb.categories"), form.categories, t("kb.commaHint")),
          row(t("kb.group"), form.group),
          h("div", { class: "field check" }, form.always, h("label", { for: "a-always" }, t("kb.alwaysHandoff"))),
          h("div", { class: "field-row" }, row(t("kb.answerThreshold"), form.answer), row(t("kb.handoffThreshold"), form.handoff)),
        ),
        h(
          "div",
          { class: "editor-body" },
          h("div", { class: "field" }, h("label", { for: "a-body" }, t("kb.body")), form.body),
          h("div", { class: "field" }, h("span", { class: "label", id: "preview-label" }, t("kb.preview")), h("div", { class: "preview-frame", role: "region", "aria-labelledby": "preview-label" }, preview)),
        ),
        h(
          "div",
          { class: "row sticky-actions" },
          h("button", { type: "submit", class: "primary" }, t("kb.save")),
          isNew ? null : h("button", { type: "button", class: "danger", onclick: remove }, t("kb.delete")),
          feedback,
        ),
      ),
      isNew ? null : revisions,
    ),
  );

  if (isNew) {
    let draft = {};
    try {
      draft = JSON.parse(sessionStorage.getItem(DRAFT_KEY) || "{}");
    } catch {
      draft = {};
    }
    fill({ language: "ru", status: "draft", ...draft });
    if (!draft.status) form.status.value = "published";
    form.id.focus();
    return;
  }
  api(`/v1/articles/${articleId}`)
    .then((a) => {
      loaded = a;
      fill(a);
    })
    .catch((error) => replace(feedback, errorBox(error)));
  loadRevisions();
  return () => {
    loaded = null;
  };
}
