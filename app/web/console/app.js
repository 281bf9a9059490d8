// The console shell: login, navigation by role, the language switch and the hash router.
import { api, ApiError, setToken, token } from "./api.js";
import { renderDashboard } from "./dashboard.js";
import { h, replace } from "./dom.js";
import { getLang, setLang, t } from "./i18n.js";
import { renderArticleList, renderEditor } from "./kb_articles.js";
import { renderImport } from "./kb_import.js";
import { renderGaps, renderSuggestions } from "./kb_review.js";
import { live } from "./live.js";
import { renderHandoff, renderQueue } from "./queue.js";
import { errorText, toast } from "./ui.js";

const root = document.getElementById("app");
const state = { me: null, cleanup: null };

const ROUTES = [
  { pattern: /^#\/queue$/, roles: ["operator"], view: (main) => renderQueue(main, state.me) },
  {
    pattern: /^#\/handoff\/(\d+)$/,
    roles: ["operator"],
    view: (main, m) => renderHandoff(main, Number(m[1]), state.me),
  },
  { pattern: /^#\/kb$/, roles: ["editor"], view: (main) => renderArticleList(main) },
  { pattern: /^#\/kb\/new$/, roles: ["editor"], view: (main) => renderEditor(main, null) },
  {
    pattern: /^#\/kb\/article\/([a-z0-9][a-z0-9_-]*)$/,
    roles: ["editor"],
    view: (main, m) => renderEditor(main, m[1]),
  },
  { pattern: /^#\/kb\/import$/, roles: ["editor"], view: (main) => renderImport(main) },
  { pattern: /^#\/kb\/suggestions$/, roles: ["editor"], view: (main) => renderSuggestions(main) },
  { pattern: /^#\/kb\/gaps$/, roles: ["editor"], view: (main) => renderGaps(main) },
  {
    pattern: /^#\/dashboard$/,
    roles: ["operator", "editor"],
    view: (main) => renderDashboard(main, state.me),
  },
];

function allowed(roles) {
  return state.me && (state.me.role === "admin" || roles.includes(state.me.role));
}

function homeFor(role) {
  return role === "editor" ? "#/kb" : "#/queue";
}

function renderLogin(message) {
  live.stop();
  state.me = null;
  document.title = t("title.login");
  const input = h("input", {
    id: "token",
    type: "password",
    name: "token",
    autocomplete: "current-password",
    required: true,
    spellcheck: "false",
  });
  const error = h("p", { class: "form-error", role: "alert" }, message || "");
  const form = h(
    "form",
    { class: "login card", "aria-labelledby": "login-title" },
    h("h1", { id: "login-title" }, "Answerdesk"),
    h("p", { class: "muted" }, t("login.intro")),
    h("label", { for: "token" }, t("login.token")),
    input,
    error,
    h("button", { type: "submit", class: "primary" }, t("login.submit")),
    languageSwitch(),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const value = input.value.trim();
    if (!value) return;
    setToken(value);
    try {
      await start();
    } catch (err) {
      setToken(null);
      replace(error, err instanceof ApiError && err.status === 401 ? t("login.invalid") : t("error.network"));
    }
  });
  replace(root, h("main", { class: "login-page" }, form));
  root.removeAttribute("aria-busy");
  input.focus();
}

function languageSwitch() {
  const other = getLang() === "ru" ? "en" : "ru";
  return h(
    "button",
    {
      type: "button",
      class: "lang-switch",
      lang: other,
      "aria-label": other === "ru" ? "Русский" : "English",
      onclick: () => {
        setLang(other);
        if (state.me) renderShell();
        else renderLogin();
      },
    },
    other.toUpperCase(),
  );
}

function soundSwitch() {
  const button = h("button", {
    type: "button",
    class: "sound-switch",
    "aria-pressed": String(live.soundOn()),
    onclick: () => {
      live.setSound(!live.soundOn());
      button.setAttribute("aria-pressed", String(live.soundOn()));
      button.textContent = live.soundOn() ? t("sound.on") : t("sound.off");
    },
  }, live.soundOn() ? t("sound.on") : t("sound.off"));
  return button;
}

function navLink(href, label, roles) {
  if (!allowed(roles)) return null;
  return h("a", { href, class: "nav-link", dataset: { section: href.split("/")[1] } }, label);
}

function renderShell() {
  const me = state.me;
  const main = h("main", { id: "main", tabindex: "-1" });
  const header = h(
    "header",
    { class: "topbar" },
    h("a", { class: "brand", href: homeFor(me.role) }, "Answerdesk"),
    h(
      "nav",
      { "aria-label": t("nav.label") },
      navLink("#/queue", t("nav.queue"), ["operator"]),
      navLink("#/kb", t("nav.kb"), ["editor"]),
      navLink("#/dashboard", t("nav.dashboard"), ["operator", "editor"]),
    ),
    h(
      "div",
      { class: "topbar-right" },
      allowed(["operator"]) ? soundSwitch() : null,
      languageSwitch(),
      h("span", { class: "whoami" }, me.name, " · ", t(`role.${me.role}`)),
      h(
        "button",
        {
          type: "button",
          class: "ghost",
          onclick: () => {
            setToken(null);
            location.hash = "";
            renderLogin();
          },
        },
        t("nav.logout"),
      ),
    ),
  );
  replace(root, header, main);
  root.removeAttribute("aria-busy");
  route();
}

function route() {
  const main = document.getElementById("main");
  if (!main || !state.me) return;
  if (state.cleanup) {
    state.cleanup();
    state.cleanup = null;
  }
  const hash = location.hash || homeFor(state.me.role);
  for (const link of document.querySelectorAll(".nav-link")) {
    const active = hash.startsWith(link.getAttribute("href")) ||
      (link.dataset.section === "queue" && hash.startsWith("#/handoff"));
    if (active) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  for (const entry of ROUTES) {
    const match = entry.pattern.exec(hash);
    if (!match) continue;
    if (!allowed(entry.roles)) {
      replace(main, h("section", { class: "card empty" }, h("h1", null, t("error.forbidden")),
        h("p", null, t("error.forbiddenRole", { role: t(`role.${state.me.role}`) }))));
      return;
    }
    const cleanup = entry.view(main, match);
    state.cleanup = typeof cleanup === "function" ? cleanup : null;
    live.updateTitle();
    return;
  }
  location.replace(homeFor(state.me.role));
}

async function start() {
  state.me = await api("/v1/console/me");
  if (allowed(["operator"])) live.start();
  renderShell();
}

window.addEventListener("hashchange", route);
window.addEventListener("console:unauthorized", () => {
  if (state.me) renderLogin(t("login.expired"));
});
window.addEventListener("console:lang", () => {
  document.documentElement.lang = getLang();
});
window.addEventListener("unhandledrejection", (event) => {
  const error = event.reason;
  if (error instanceof ApiError && error.status !== 401) toast(errorText(error), "error");
});

document.documentElement.lang = getLang();
if (token()) {
  start().catch((err) => renderLogin(err instanceof ApiError && err.status === 401 ? t("login.expired") : t("error.network")));
} else {
  renderLogin();
}
