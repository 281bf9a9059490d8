// The operator's queue and one conversation: transcript, customer, suggested articles, reply.
import { api, ApiError } from "./api.js";
import { h, redrawKeepingFocus, replace } from "./dom.js";
import { cannedReplies, t } from "./i18n.js";
import { live } from "./live.js";
import { renderMarkdown } from "./markdown.js";
import {
  errorBox,
  errorText,
  formatDuration,
  formatTime,
  parseTime,
  reasonBadge,
  spinner,
  statusBadge,
  toast,
} from "./ui.js";

function ticker(root) {
  const tick = () => {
    for (const el of root.querySelectorAll("[data-since]")) {
      const since = parseTime(el.dataset.since);
      if (since) el.textContent = formatDuration((Date.now() - since.getTime()) / 1000);
    }
  };
  tick();
  const timer = setInterval(tick, 1000);
  return () => clearInterval(timer);
}

function customerName(item) {
  return (item.customer && (item.customer.name || item.customer.user_id)) || t("queue.anonymous");
}

async function claim(id) {
  try {
    await api(`/v1/handoffs/${id}/claim`, { method: "POST" });
    location.hash = `#/handoff/${id}`;
  } catch (error) {
    toast(error instanceof ApiError && error.status === 409 ? t("queue.taken") : errorText(error), "error");
    live.refreshCount();
  }
}

function queueRow(item, me) {
  const mine = item.operator_name === me.name;
  return h(
    "li",
    { class: `queue-item status-${item.status}`, dataset: { handoffId: String(item.id) } },
    h(
      "div",
      { class: "queue-main" },
      h(
        "div",
        { class: "queue-line" },
        reasonBadge(item.reason),
        h("span", { class: "customer-name" }, customerName(item)),
        h("span", { class: "channel" }, item.customer ? item.customer.channel : ""),
      ),
      h("p", { class: "question" }, item.question || t("queue.noQuestion")),
    ),
    h(
      "div",
      { class: "queue-side" },
      item.status === "waiting"
        ? h(
            "span",
            { class: "waiting", title: t("queue.waitingFor") },
            h("span", { class: "visually-hidden" }, t("queue.waitingFor"), " "),
            h("span", { class: "since", dataset: { since: item.waiting_since } }, ""),
          )
        : h("span", { class: "operator" }, t("queue.with", { name: item.operator_name || "—" })),
      item.status === "waiting"
        ? h("button", { type: "button", class: "primary", onclick: () => claim(item.id) }, t("queue.claim"))
        : null,
      h(
        "a",
        { class: "button", href: `#/handoff/${item.id}` },
        mine ? t("queue.continue") : t("queue.open"),
      ),
    ),
  );
}

export function renderQueue(main, me) {
  const waitingList = h("ul", { class: "queue", "aria-label": t("queue.waiting") });
  const assignedList = h("ul", { class: "queue", "aria-label": t("queue.assigned") });
  const waitingCount = h("span", { class: "count" }, "");
  const connection = h("span", { class: "connection" }, "");
  const showConnection = () => {
    connection.textContent = live.connected ? t("live.connected") : t("live.connecting");
    connection.className = `connection ${live.connected ? "ok" : "off"}`;
  };
  showConnection();
  // The stream starts at "now": read the list again once it is open, so nothing created
  // between the first read and the connection is missed.
  const onConnection = () => {
    showConnection();
    if (live.connected) load();
  };
  replace(
    main,
    h(
      "section",
      { class: "page" },
      h("div", { class: "page-head" }, h("h1", null, t("queue.title")), connection),
      h("h2", null, t("queue.waiting"), " ", waitingCount),
      waitingList,
      h("h2", null, t("queue.assigned")),
      assignedList,
    ),
  );
  let stopped = false;
  const load = async () => {
    try {
      const [waiting, assigned] = await Promise.all([
        api("/v1/handoffs", { query: { status: "waiting" } }),
        api("/v1/handoffs", { query: { status: "assigned" } }),
      ]);
      if (stopped) return;
      waitingCount.textContent = `(${waiting.items.length})`;
      replace(
        waitingList,
        waiting.items.length
          ? waiting.items.map((item) => queueRow(item, me))
          : h("li", { class: "empty" }, t("queue.empty")),
      );
      replace(
        assignedList,
        assigned.items.length
          ? assigned.items.map((item) => queueRow(item, me))
          : h("li", { class: "empty" }, t("queue.noneAssigned")),
      );
    } catch (error) {
      if (!stopped) replace(waitingList, h("li", null, errorBox(error)));
    }
  };
  load();
  const onChange = () => load();
  live.addEventListener("handoff", onChange);
  live.addEventListener("status", onChange);
  live.addEventListener("connection", onConnection);
  live.unseen = 0;
  const stopTicker = ticker(main);
  return () => {
    stopped = true;
    stopTicker();
    live.removeEventListener("handoff", onChange);
    live.removeEventListener("status", onChange);
    live.removeEventListener("connection", onConnection);
  };
}

function confidenceBadge(value) {
  if (value === null || value === undefined) return null;
  const level = value >= 0.55 ? "high" : value >= 0.25 ? "mid" : "low";
  return h(
    "span",
    { class: `badge confidence ${level}`, title: t("handoff.confidence") },
    t("handoff.confidenceShort", { value: Math.round(value * 100) }),
  );
}

function messageView(message) {
  const rich = message.role === "bot" || message.role === "operator";
  const who =
    message.role === "operator"
      ? message.author || t("role.operator")
      : t(`speaker.${message.role}`);
  return h(
    "li",
    { class: `msg ${message.role}`, dataset: { messageId: String(message.id) } },
    h(
      "div",
      { class: "msg-head" },
      h("span", { class: "who" }, who),
      message.role === "bot" && message.status ? h("span", { class: "badge" }, message.status) : null,
      message.role === "bot" ? confidenceBadge(message.confidence) : null,
      message.article_id ? h("span", { class: "article-ref" }, message.article_id) : null,
      h("time", { datetime: message.created_at }, formatTime(message.created_at)),
    ),
    rich ? renderMarkdown(message.text) : h("p", { class: "plain" }, message.text),
  );
}

function detailsList(pairs) {
  return h(
    "dl",
    { class: "details" },
    pairs
      .filter(([, value]) => value !== null && value !== undefined && value !== "")
      .map(([key, value]) => [h("dt", null, key), h("dd", null, String(value))]),
  );
}

export function renderHandoff(main, id, me) {
  let packet = null;
  let stopped = false;
  // What the operator is typing survives re-renders caused by live status events.
  const draft = { reply: "", article: "", note: "" };
  const keep = (input, key) => {
    input.value = draft[key];
    input.addEventListener("input", () => {
      draft[key] = input.value;
    });
    return input;
  };
  const transcript = h("ol", { class: "transcript", "aria-label": t("handoff.transcript") });
  const side = h("aside", { class: "handoff-side" });
  const head = h("div", { class: "page-head" });
  const composer = h("div", { class: "composer" });
  replace(
    main,
    h(
      "section",
      { class: "page handoff-page" },
      h("p", null, h("a", { href: "#/queue" }, "← ", t("queue.title"))),
      head,
      h("div", { class: "handoff-layout" }, h("div", { class: "conversation" }, transcript, composer), side),
    ),
  );
  transcript.append(spinner());

  const canWrite = () =>
    packet && packet.status === "assigned" && (packet.operator_name === me.name || me.role === "admin");

  const appendMessage = (message) => {
    if (transcript.querySelector(`[data-message-id="${message.id}"]`)) return;
    transcript.append(messageView(message));
    transcript.scrollTop = transcript.scrollHeight;
  };

  const send = async (body) => {
    try {
      const message = await api(`/v1/handoffs/${id}/messages`, { method: "POST", json: body });
      appendMessage(message);
      return true;
    } catch (error) {
      toast(errorText(error), "error");
      return false;
    }
  };

  const act = async (action, body) => {
    try {
      packet = { ...packet, ...(await api(`/v1/handoffs/${id}/${action}`, { method: "POST", json: body })) };
      toast(t(`handoff.done.${action}`), "ok");
      await load();
    } catch (error) {
      toast(errorText(error), "error");
    }
  };

  const renderHead = () => {
    replace(
      head,
      h("h1", null, t("handoff.title", { id })),
      reasonBadge(packet.reason),
      statusBadge(packet.status),
      packet.operator_name ? h("span", { class: "operator" }, t("queue.with", { name: packet.operator_name })) : null,
      packet.status === "waiting"
        ? h("span", { class: "waiting" }, t("queue.waitingFor"), " ", h("span", { dataset: { since: packet.waiting_since } }))
        : null,
    );
  };

  // The composer is redrawn only when what it offers changes, so a status event that changes
  // nothing for it leaves the reply box, its caret and its undo history alone.
  let composerMode = null;
  const renderComposer = () => {
    const mode = packet.status === "assigned" ? `assigned:${canWrite()}` : packet.status;
    if (mode === composerMode) return;
    composerMode = mode;
    if (packet.status === "waiting") {
      replace(composer, h("button", { type: "button", class: "primary", onclick: () => claim(id).then(load) }, t("queue.claim")));
      return;
    }
    if (packet.status === "resolved") {
      replace(
        composer,
        h(
          "p",
          { class: "resolved-note" },
          packet.resolution_article_id
            ? t("handoff.resolvedByArticle", { article: packet.resolution_article_id })
            : t("handoff.resolvedPlain"),
          packet.resolution_note ? ` — ${packet.resolution_note}` : "",
        ),
      );
      return;
    }
    if (!canWrite()) {
      replace(composer, h("p", { class: "muted" }, t("handoff.heldBy", { name: packet.operator_name })));
      return;
    }
    const box = h("textarea", {
      id: "reply",
      rows: 3,
      maxlength: 4000,
      placeholder: t("handoff.replyPlaceholder"),
    });
    keep(box, "reply");
    const submit = async (event) => {
      event.preventDefault();
      const text = box.value.trim();
      if (!text) return;
      if (await send({ text })) {
        box.value = "";
        draft.reply = "";
      }
      box.focus();
    };
    box.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) submit(event);
    });
    const form = h(
      "form",
      { class: "reply-form", onsubmit: submit },
      h("label", { for: "reply" }, t("handoff.reply")),
      h(
        "div",
        { class: "canned", role: "group", "aria-label": t("handoff.canned") },
        cannedReplies().map((text) =>
          h(
            "button",
            {
              type: "button",
              class: "chip",
              onclick: () => {
                box.value = box.value ? `${box.value.trimEnd()} ${text}` : text;
                draft.reply = box.value;
                box.focus();
              },
            },
            text,
          ),
        ),
      ),
      box,
      h("div", { class: "row" }, h("span", { class: "muted small" }, t("handoff.sendHint")), h("button", { type: "submit", class: "primary" }, t("handoff.send"))),
    );
    replace(composer, form);
  };

  const renderSide = () => {
    const customer = packet.customer || {};
    const metadata = Object.entries(customer.metadata || {}).map(([key, value]) => [
      key,
      typeof value === "object" ? JSON.stringify(value) : value,
    ]);
    const candidates = packet.candidates || [];
    const articleInput = h("input", {
      id: "resolve-article",
      list: "resolve-candidates",
      placeholder: t("handoff.articleId"),
    });
    keep(articleInput, "article");
    if (packet.resolution_article_id) articleInput.value = packet.resolution_article_id;
    const note = keep(h("input", { id: "resolve-note", placeholder: t("handoff.note"), maxlength: 4000 }), "note");
    const writable = canWrite();
    redrawKeepingFocus(side, () => replace(
      side,
      h(
        "section",
        { class: "card" },
        h("h2", null, t("handoff.customer")),
        detailsList([
          [t("customer.name"), customer.name],
          [t("customer.id"), customer.user_id],
          [t("customer.channel"), customer.channel],
          [t("customer.language"), customer.language],
          [t("customer.since"), formatTime(packet.created_at)],
          ...metadata,
        ]),
      ),
      h(
        "section",
        { class: "card" },
        h("h2", null, t("handoff.suggested")),
        packet.question ? h("p", { class: "muted small" }, t("handoff.forQuestion"), " ", h("q", null, packet.question)) : null,
        candidates.length
          ? h(
              "ul",
              { class: "candidates" },
              candidates.map((c) =>
                h(
                  "li",
                  null,
                  h("span", { class: "candidate-title" }, c.title || c.id),
                  c.score !== null && c.score !== undefined ? h("span", { class: "badge" }, c.score.toFixed(2)) : null,
                  h(
                    "button",
                    {
                      type: "button",
                      class: "small",
                      disabled: !writable,
                      "aria-label": t("handoff.sendArticleNamed", { title: c.title || c.id }),
                      onclick: async () => {
                        if (await send({ article_id: c.id })) {
                          // The panel may have been redrawn while sending: set the current one.
                          draft.article = c.id;
                          const current = document.getElementById("resolve-article");
                          if (current) current.value = c.id;
                          toast(t("handoff.articleSent"), "ok");
                        }
                      },
                    },
                    t("handoff.sendArticle"),
                  ),
                ),
              ),
            )
          : h("p", { class: "muted" }, t("handoff.noCandidates")),
      ),
      h(
        "section",
        { class: "card" },
        h("h2", null, t("handoff.actions")),
        h("datalist", { id: "resolve-candidates" }, candidates.map((c) => h("option", { value: c.id }, c.title || c.id))),
        h("label", { for: "resolve-article" }, t("handoff.resolvedBy")),
        articleInput,
        h("label", { for: "resolve-note" }, t("handoff.noteLabel")),
        note,
        h(
          "div",
          { class: "row" },
          h(
            "button",
            {
              type: "button",
              class: "primary",
              disabled: packet.status === "resolved" || !(writable || me.role === "admin"),
              onclick: () => {
                const body = {};
                if (articleInput.value.trim()) body.article_id = articleInput.value.trim();
                if (note.value.trim()) body.note = note.value.trim();
                act("resolve", body);
              },
            },
            t("handoff.resolve"),
          ),
          h(
            "button",
            { type: "button", disabled: !writable, onclick: () => act("release") },
            t("handoff.release"),
          ),
        ),
      ),
    ));
  };

  const load = async () => {
    try {
      packet = await api(`/v1/handoffs/${id}`);
    } catch (error) {
      replace(transcript, h("li", null, errorBox(error)));
      return;
    }
    if (stopped) return;
    replace(transcript);
    packet.transcript.forEach(appendMessage);
    renderHead();
    renderComposer();
    renderSide();
  };
  load();

  const onMessage = (event) => {
    if (event.detail.handoff_id === id || (packet && event.detail.conversation_id === packet.conversation_id)) {
      appendMessage(event.detail);
    }
  };
  const onStatus = (event) => {
    if (event.detail.handoff_id === id) load();
  };
  live.addEventListener("message", onMessage);
  live.addEventListener("status", onStatus);
  const stopTicker = ticker(main);
  return () => {
    stopped = true;
    stopTicker();
    live.removeEventListener("message", onMessage);
    live.removeEventListener("status", onStatus);
  };
}
