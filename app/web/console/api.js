// Every request carries the token as a bearer header; a 401 anywhere ends the session.
const TOKEN_KEY = "answerdesk.console.token";

export class ApiError extends Error {
  constructor(status, body) {
    super((body && (body.detail || body.title)) || `HTTP ${status}`);
    this.status = status;
    this.body = body || {};
  }
}

export function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(value) {
  if (value) sessionStorage.setItem(TOKEN_KEY, value);
  else sessionStorage.removeItem(TOKEN_KEY);
}

export async function api(path, { method = "GET", json, form, query, signal } = {}) {
  const url = new URL(path, location.origin);
  for (const [key, value] of Object.entries(query || {})) {
    if (value !== undefined && value !== null && value !== "") url.searchParams.set(key, value);
  }
  const headers = { Accept: "application/json" };
  const current = token();
  if (current) headers.Authorization = `Bearer ${current}`;
  let body;
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  } else if (form) {
    body = form; // the browser sets the multipart boundary
  }
  let response;
  try {
    response = await fetch(url, { method, headers, body, signal });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError(0, { detail: "network" });
  }
  const text = await response.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = { detail: text.slice(0, 300) };
    }
  }
  if (response.status === 401) {
    setToken(null);
    window.dispatchEvent(new CustomEvent("console:unauthorized"));
  }
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

// EventSource cannot send headers; the operator stream accepts ?access_token= for it.
export function operatorEventsUrl() {
  const url = new URL("/v1/operator/events", location.origin);
  url.searchParams.set("access_token", token() || "");
  return url.toString();
}
