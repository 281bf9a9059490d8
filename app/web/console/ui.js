// Small shared pieces: toasts, badges, number and time formatting, error text.
import { ApiError } from "./api.js";
import { h } from "./dom.js";
import { getLang, t } from "./i18n.js";

export function toast(message, kind = "info") {
  const box = document.getElementById("toasts");
  const item = h("div", { class: `toast ${kind}` }, message);
  box.append(item);
  setTimeout(() => item.remove(), kind === "error" ? 8000 : 4000);
}

export function announce(message) {
  const region = document.getElementById("announcer");
  region.textContent = "";
  setTimeout(() => {
    region.textContent = message;
  }, 50);
}

export function errorText(error) {
  if (!(error instanceof ApiError)) return String(error && error.message ? error.message : error);
  if (error.status === 0) return t("error.network");
  return `${error.status}: ${error.body.detail || error.body.title || error.message}`;
}

export function isMissing(error) {
  // A route that is not deployed (yet): Starlette's own 404 says just "Not Found".
  if (!(error instanceof ApiError)) return false;
  return error.status === 405 || (error.status === 404 && error.body.detail === "Not Found");
}

export function reasonBadge(reason) {
  const known = t(`reason.${reason}`);
  return h(
    "span",
    { class: `badge reason reason-${String(reason).replace(/[^a-z_]/g, "")}`, title: reason },
    known === `reason.${reason}` ? reason : known,
  );
}

export function statusBadge(status) {
  return h("span", { class: `badge status status-${status}` }, t(`status.${status}`));
}

export function formatDuration(totalSeconds) {
  const seconds = Math.max(0, Math.floor(totalSeconds));
  const hours = Math.floor(seconds / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  const rest = seconds % 60;
  const pad = (n) => String(n).padStart(2, "0");
  if (hours) return t("duration.hm", { h: hours, m: pad(minutes) });
  if (minutes) return t("duration.ms", { m: minutes, s: pad(rest) });
  return t("duration.s", { s: rest });
}

export function parseTime(value) {
  if (!value) return null;
  // The API sends ISO times; a time without a zone is UTC.
  const text = /[zZ]|[+-]\d\d:?\d\d$/.test(value) ? value : `${value}Z`;
  const date = new Date(text);
  return Number.isNaN(date.getTime()) ? null : date;
}

export function formatTime(value) {
  const date = value instanceof Date ? value : parseTime(value);
  if (!date) return "";
  return new Intl.DateTimeFormat(getLang(), { dateStyle: "short", timeStyle: "short" }).format(date);
}

export function formatPercent(value) {
  if (value === null || value === undefined || Number.isNaN(Number(value))) return "—";
  return new Intl.NumberFormat(getLang(), { style: "percent", maximumFractionDigits: 1 }).format(Number(value));
}

export function formatNumber(value) {
  if (value === null || value === undefined) return "—";
  return new Intl.NumberFormat(getLang()).format(Number(value));
}

export function spinner() {
  return h("p", { class: "loading", role: "status" }, t("common.loading"));
}

export function notAvailable(what) {
  return h(
    "div",
    { class: "card empty not-available", role: "status" },
    h("h2", null, t("common.notAvailable")),
    h("p", null, t("common.notAvailableText", { what })),
  );
}

export function errorBox(error) {
  return h("div", { class: "card empty error", role: "alert" }, errorText(error));
}
