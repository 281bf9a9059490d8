/*! Answerdesk chat widget. One self-contained file: no build step, no CDN, no dependencies.
 *
 * Embed with one tag:
 *   <script src="https://HOST/widget.js" data-title="Support" data-lang="ru" async></script>
 *
 * Safety rule for this file: text that comes from the server (answers, operator replies, titles)
 * only ever reaches the page through textContent / createTextNode. There is no innerHTML here.
 */
(function () {
  "use strict";

  if (window.__answerdeskWidgetLoaded) return;
  window.__answerdeskWidgetLoaded = true;

  // ---------------------------------------------------------------- configuration

  function findOwnScript() {
    if (document.currentScript) return document.currentScript;
    // Async or injected: find our tag by its src.
    var scripts = document.getElementsByTagName("script");
    for (var i = scripts.length - 1; i >= 0; i--) {
      var src = scripts[i].getAttribute("src") || "";
      if (/(^|\/)widget\.js(\?|#|$)/.test(src)) return scripts[i];
    }
    return null;
  }

  var script = findOwnScript();
  var scriptUrl = new URL(script ? script.src : "/widget.js", document.baseURI);
  // https://HOST/prefix/widget.js -> https://HOST/prefix
  var API_BASE = scriptUrl.origin + scriptUrl.pathname.replace(/\/widget\.js$/, "");
  var data = (script && script.dataset) || {};

  var TEXTS = {
    en: {
      launcher: "Open support chat",
      close: "Close chat",
      title: "Support",
      subtitle: "We usually answer right away",
      greeting: "Hi! Ask a question and I will look it up in our help articles.",
      placeholder: "Type your question…",
      inputLabel: "Your message",
      send: "Send",
      person: "Talk to a person",
      personMessage: "I'd like to talk to a person",
      helpful: "Helpful",
      notHelpful: "Not helpful",
      feedbackThanks: "Thanks, your feedback is recorded.",
      feedbackFailed: "Sorry, your feedback was not saved. Please try again.",
      typing: "Support is typing…",
      waiting: "Waiting for a person from our team…",
      queue: "Waiting for a person from our team. You are number {n} in the queue.",
      joined: "{name} joined the chat",
      operator: "Operator",
      bot: "Assistant",
      you: "You",
      source: "From the article: {title}",
      choose: "Choose one:",
      networkError: "We can't reach support right now. Check your connection and try again.",
      serverError: "Something went wrong on our side. Please try again in a moment.",
      rejected: "The message was not sent: {detail}",
      retry: "Try again",
      unread: "New message",
    },
    ru: {
      launcher: "Открыть чат поддержки",
      close: "Закрыть чат",
      title: "Поддержка",
      subtitle: "Обычно отвечаем сразу",
      greeting: "Здравствуйте! Задайте вопрос — я найду ответ в нашей базе знаний.",
      placeholder: "Напишите ваш вопрос…",
      inputLabel: "Ваше сообщение",
      send: "Отправить",
      person: "Позвать оператора",
      personMessage: "Хочу поговорить с оператором",
      helpful: "Полезно",
      notHelpful: "Не помогло",
      feedbackThanks: "Спасибо, ваш отзыв учтён.",
      feedbackFailed: "Не удалось сохранить отзыв. Попробуйте ещё раз.",
      typing: "Поддержка печатает…",
      waiting: "Ждём сотрудника поддержки…",
      queue: "Ждём сотрудника поддержки. Вы {n}-й в очереди.",
      joined: "{name} подключился к чату",
      operator: "Оператор",
      bot: "Ассистент",
      you: "Вы",
      source: "Из статьи: {title}",
      choose: "Выберите вариант:",
      networkError: "Не удаётся связаться с поддержкой. Проверьте подключение и попробуйте снова.",
      serverError: "У нас что-то пошло не так. Попробуйте ещё раз через минуту.",
      rejected: "Сообщение не отправлено: {detail}",
      retry: "Повторить",
      unread: "Новое сообщение",
    },
  };

  function pickLanguage() {
    var wanted = (data.lang || navigator.language || "en").toLowerCase().slice(0, 2);
    return TEXTS[wanted] ? wanted : "en";
  }

  var LANG = pickLanguage();
  var T = TEXTS[LANG];
  var TITLE = (data.title || T.title).slice(0, 80);
  var ACCENT = /^#[0-9a-fA-F]{3,8}$/.test(data.color || "") ? data.color : "#0b63ce";

  function t(key, values) {
    return T[key].replace(/\{(\w+)\}/g, function (_, name) {
      return values && values[name] != null ? String(values[name]) : "";
    });
  }

  // ---------------------------------------------------------------- storage

  var memory = {};
  var KEY = "answerdesk:" + API_BASE + ":";

  function load(name) {
    try {
      return window.localStorage.getItem(KEY + name);
    } catch (e) {
      return memory[name] || null;
    }
  }

  function save(name, value) {
    try {
      if (value == null) window.localStorage.removeItem(KEY + name);
      else window.localStorage.setItem(KEY + name, value);
    } catch (e) {
      memory[name] = value;
    }
  }

  function randomId() {
    if (window.crypto && window.crypto.randomUUID) return window.crypto.randomUUID();
    return Date.now().toString(36) + Math.random().toString(36).slice(2, 12);
  }

  var userId = load("user");
  if (!userId) {
    userId = "web-" + randomId();
    save("user", userId);
  }

  function loadFeedback() {
    try {
      return JSON.parse(load("feedback") || "{}") || {};
    } catch (e) {
      return {};
    }
  }

  // ---------------------------------------------------------------- safe Markdown

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text != null) node.textContent = text;
    return node;
  }

  function safeUrl(raw) {
    var url;
    try {
      url = new URL(raw.trim());
    } catch (e) {
      return null; // relative or malformed: not resolved against the host page
    }
    return /^(https?|mailto):$/.test(url.protocol) ? url.href : null;
  }

  function isSpace(ch) {
    return ch === undefined || /\s/.test(ch);
  }

  function isWordChar(ch) {
    return ch !== undefined && /[0-9A-Za-z\u00C0-\u024F\u0400-\u04FF]/.test(ch);
  }

  // Where the emphasis opened at `start` with delimiter `mark` closes, or -1.
  function closingDelimiter(text, start, mark) {
    var from = start + mark.length;
    if (isSpace(text[from])) return -1;
    if (mark[0] === "_" && isWordChar(text[start - 1])) return -1; // snake_case is not emphasis
    for (var j = text.indexOf(mark, from + 1); j !== -1; j = text.indexOf(mark, j + 1)) {
      if (isSpace(text[j - 1])) continue;
      if (mark.length === 1 && text[j + 1] === mark) {
        j++;
        continue;
      }
      if (mark[0] === "_" && isWordChar(text[j + mark.length])) continue;
      return j;
    }
    return -1;
  }

  var LINK = /^\[([^\]\n]{1,500})\]\(\s*<?((?:[^()\s<>]|\([^()\s<>]*\)){1,2000})>?(?:\s+"[^"\n]*")?\s*\)/;
  var BARE_URL = /^(?:https?:\/\/|mailto:)[^\s<>"'`]+/;

  function appendLink(parent, href, label) {
    var a = el("a");
    a.href = href;
    a.target = "_blank";
    a.rel = "noopener noreferrer nofollow";
    renderInline(label, a);
    parent.appendChild(a);
  }

  function renderInline(text, parent, depth) {
    depth = depth || 0;
    var buffer = "";
    function flush() {
      if (buffer) parent.appendChild(document.createTextNode(buffer));
      buffer = "";
    }
    var i = 0;
    while (i < text.length) {
      var ch = text[i];
      var rest = text.slice(i);
      if (ch === "\\" && /^[\\`*_[\]()#+\-.!>~|]$/.test(text[i + 1] || "")) {
        buffer += text[i + 1];
        i += 2;
        continue;
      }
      if (ch === "`") {
        var end = text.indexOf("`", i + 1);
        if (end > i + 1) {
          flush();
          parent.appendChild(el("code", null, text.slice(i + 1, end)));
          i = end + 1;
          continue;
        }
      }
      if ((ch === "*" || ch === "_") && depth < 4) {
        var mark = text[i + 1] === ch ? ch + ch : ch;
        var close = closingDelimiter(text, i, mark);
        if (close !== -1) {
          flush();
          var strong = el(mark.length === 2 ? "strong" : "em");
          renderInline(text.slice(i + mark.length, close), strong, depth + 1);
          parent.appendChild(strong);
          i = close + mark.length;
          continue;
        }
      }
      if (ch === "[") {
        var link = LINK.exec(rest);
        if (link) {
          flush();
          var href = safeUrl(link[2]);
          if (href) appendLink(parent, href, link[1]);
          else renderInline(link[1], parent, depth + 1); // unsafe scheme: keep only the words
          i += link[0].length;
          continue;
        }
      }
      if ((ch === "h" || ch === "m") && !isWordChar(text[i - 1])) {
        var bare = BARE_URL.exec(rest);
        if (bare) {
          var raw = bare[0].replace(/[.,;:!?)\]]+$/, "");
          var safe = safeUrl(raw);
          if (safe) {
            flush();
            appendLink(parent, safe, raw);
            i += raw.length;
            continue;
          }
        }
      }
      buffer += ch;
      i++;
    }
    flush();
  }

  var FENCE = /^\s{0,3}(```+|~~~+)\s*([\w+-]*)\s*$/;
  var HEADING = /^\s{0,3}(#{1,6})\s+(.+?)\s*#*\s*$/;
  var BULLET = /^\s{0,3}[-*+]\s+(.*)$/;
  var ORDERED = /^\s{0,3}(\d{1,9})[.)]\s+(.*)$/;
  var QUOTE = /^\s{0,3}>\s?(.*)$/;
  var RULE = /^\s{0,3}([-*_])(\s*\1){2,}\s*$/;

  function renderParagraph(lines, parent) {
    var p = el("p");
    lines.forEach(function (line, n) {
      if (n > 0) p.appendChild(el("br"));
      renderInline(line.trim(), p);
    });
    parent.appendChild(p);
  }

  /** Markdown -> DOM nodes, a strict subset; anything unknown stays literal text. */
  function renderMarkdown(source, parent) {
    var lines = String(source).replace(/\r\n?/g, "\n").split("\n");
    var i = 0;
    var paragraph = [];
    function endParagraph() {
      if (paragraph.length) renderParagraph(paragraph, parent);
      paragraph = [];
    }
    while (i < lines.length) {
      var line = lines[i];
      var m;
      if ((m = FENCE.exec(line))) {
        endParagraph();
        var fence = m[1];
        var code = [];
        i++;
        while (i < lines.length && lines[i].trim().indexOf(fence) !== 0) code.push(lines[i++]);
        i++; // the closing fence (or the end)
        var pre = el("pre");
        pre.appendChild(el("code", null, code.join("\n")));
        parent.appendChild(pre);
        continue;
      }
      if (!line.trim()) {
        endParagraph();
        i++;
        continue;
      }
      if ((m = HEADING.exec(line))) {
        endParagraph();
        var heading = el("p", "heading");
        heading.setAttribute("role", "heading");
        heading.setAttribute("aria-level", String(Math.min(6, m[1].length + 2)));
        renderInline(m[2], heading);
        parent.appendChild(heading);
        i++;
        continue;
      }
      if (RULE.test(line)) {
        endParagraph();
        parent.appendChild(el("hr"));
        i++;
        continue;
      }
      if (BULLET.test(line) || ORDERED.test(line)) {
        endParagraph();
        var ordered = !BULLET.test(line);
        var list = el(ordered ? "ol" : "ul");
        var first = ORDERED.exec(line);
        if (ordered && first && first[1] !== "1") list.start = parseInt(first[1], 10);
        var item = null;
        while (i < lines.length) {
          var itemMatch = ordered ? ORDERED.exec(lines[i]) : BULLET.exec(lines[i]);
          if (itemMatch) {
            item = el("li");
            renderInline(ordered ? itemMatch[2] : itemMatch[1], item);
            list.appendChild(item);
            i++;
          } else if (item && lines[i].trim() && /^\s{2,}/.test(lines[i])) {
            item.appendChild(el("br")); // an indented continuation line
            renderInline(lines[i].trim(), item);
            i++;
          } else {
            break;
          }
        }
        parent.appendChild(list);
        continue;
      }
      if (QUOTE.test(line)) {
        endParagraph();
        var quote = [];
        while (i < lines.length && (m = QUOTE.exec(lines[i]))) {
          quote.push(m[1]);
          i++;
        }
        var blockquote = el("blockquote");
        renderMarkdown(quote.join("\n"), blockquote);
        parent.appendChild(blockquote);
        continue;
      }
      paragraph.push(line);
      i++;
    }
    endParagraph();
    return parent;
  }

  // ---------------------------------------------------------------- styles

  var CSS = [
    ":host{all:initial;}",
    "*,*::before,*::after{box-sizing:border-box;}",
    ".root{--accent:" + ACCENT + ";font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif;color:#1d2430;}",
    "button,textarea{font:inherit;color:inherit;}",
    ":focus-visible{outline:3px solid #ffbf47;outline-offset:2px;}",
    ".launcher{position:fixed;right:20px;bottom:20px;z-index:2147483000;width:60px;height:60px;border-radius:50%;border:0;background:var(--accent);color:#fff;cursor:pointer;box-shadow:0 6px 20px rgba(0,0,0,.25);display:flex;align-items:center;justify-content:center;}",
    ".launcher svg{width:28px;height:28px;fill:currentColor;}",
    ".launcher[aria-expanded=true]{display:none;}",
    ".badge{position:absolute;top:4px;right:4px;width:14px;height:14px;border-radius:50%;background:#e5484d;border:2px solid #fff;}",
    ".badge[hidden]{display:none;}",
    ".panel{position:fixed;right:20px;bottom:20px;z-index:2147483001;width:380px;height:min(620px,calc(100vh - 40px));background:#fff;border-radius:14px;box-shadow:0 12px 40px rgba(0,0,0,.28);display:flex;flex-direction:column;overflow:hidden;}",
    ".panel[hidden]{display:none;}",
    ".header{background:var(--accent);color:#fff;padding:12px 12px 12px 16px;display:flex;align-items:center;gap:8px;}",
    ".header h2{font-size:16px;margin:0;font-weight:600;}",
    ".header .sub{font-size:12px;opacity:.85;}",
    ".header .titles{flex:1;min-width:0;}",
    ".icon-button{background:transparent;border:0;color:#fff;width:36px;height:36px;border-radius:8px;cursor:pointer;font-size:22px;line-height:1;}",
    ".icon-button:hover{background:rgba(255,255,255,.15);}",
    ".status{padding:8px 14px;background:#fff8e1;color:#5c4400;font-size:13px;border-bottom:1px solid #f0e0b0;}",
    ".status:empty{display:none;}",
    ".log{position:relative;flex:1;overflow-y:auto;padding:14px;display:flex;flex-direction:column;gap:10px;background:#f5f7fa;}",
    ".msg{max-width:88%;padding:9px 12px;border-radius:12px;word-wrap:break-word;overflow-wrap:anywhere;}",
    ".msg p{margin:0 0 6px;}.msg p:last-child{margin-bottom:0;}",
    ".msg ul,.msg ol{margin:4px 0 6px;padding-left:22px;}",
    ".msg pre{background:#eef1f5;padding:8px;border-radius:6px;overflow-x:auto;margin:4px 0;white-space:pre-wrap;}",
    ".msg code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:13px;background:#eef1f5;padding:0 3px;border-radius:3px;}",
    ".msg pre code{background:none;padding:0;}",
    ".msg blockquote{margin:4px 0;padding-left:10px;border-left:3px solid #cfd6e0;color:#4a5565;}",
    ".msg .heading{font-weight:700;margin:6px 0 4px;}",
    ".msg a{color:var(--accent);}",
    ".customer{align-self:flex-end;background:var(--accent);color:#fff;white-space:pre-wrap;}",
    ".customer.failed{opacity:.6;}",
    ".bot,.operator{align-self:flex-start;background:#fff;border:1px solid #e1e6ed;}",
    ".operator{border-color:#9fd3ae;background:#f1fbf4;}",
    ".author{display:block;font-size:12px;font-weight:600;color:#53606f;margin-bottom:2px;}",
    ".source{display:block;font-size:12px;color:#6b7685;margin-top:6px;}",
    ".system{align-self:center;font-size:12px;color:#6b7685;text-align:center;max-width:90%;}",
    ".choices{display:flex;flex-direction:column;gap:6px;margin-top:8px;}",
    ".choice{text-align:left;background:#fff;border:1px solid var(--accent);color:var(--accent);border-radius:8px;padding:7px 10px;cursor:pointer;}",
    ".choice:hover:not(:disabled){background:#eef4fd;}",
    ".choice:disabled{opacity:.55;cursor:default;}",
    ".feedback{display:flex;align-items:center;gap:6px;margin-top:6px;font-size:12px;color:#53606f;}",
    ".feedback button{background:#fff;border:1px solid #d5dbe3;border-radius:14px;padding:3px 9px;cursor:pointer;line-height:0;color:#53606f;}",
    ".feedback svg{width:16px;height:16px;fill:currentColor;}",
    ".feedback button[aria-pressed=true]{color:var(--accent);}",
    ".feedback button[aria-pressed=true]{background:#e3efff;border-color:var(--accent);}",
    ".feedback button:disabled{cursor:default;}",
    ".notice{align-self:stretch;background:#fdecec;color:#8a1f1f;border:1px solid #f3c2c2;border-radius:8px;padding:8px 10px;font-size:13px;}",
    ".notice button{margin-left:8px;background:#fff;border:1px solid #c88;border-radius:6px;padding:1px 8px;cursor:pointer;}",
    ".typing{padding:0 14px 6px;background:#f5f7fa;font-size:12px;color:#6b7685;min-height:0;}",
    ".typing[hidden]{display:none;}",
    ".dots{display:inline-block;margin-right:6px;}",
    ".dots i{display:inline-block;width:6px;height:6px;margin:0 1px;border-radius:50%;background:#8b96a5;animation:ad-blink 1.2s infinite both;}",
    ".dots i:nth-child(2){animation-delay:.2s;}.dots i:nth-child(3){animation-delay:.4s;}",
    "@keyframes ad-blink{0%,80%,100%{opacity:.25}40%{opacity:1}}",
    "@media (prefers-reduced-motion:reduce){.dots i{animation:none;}}",
    ".composer{border-top:1px solid #e1e6ed;padding:10px;display:flex;flex-direction:column;gap:8px;background:#fff;}",
    ".row{display:flex;gap:8px;align-items:flex-end;}",
    "textarea{flex:1;resize:none;border:1px solid #cfd6e0;border-radius:10px;padding:8px 10px;min-height:40px;max-height:120px;background:#fff;}",
    ".send{background:var(--accent);color:#fff;border:0;border-radius:10px;padding:9px 14px;cursor:pointer;font-weight:600;}",
    ".send:disabled{opacity:.6;cursor:default;}",
    ".person{align-self:flex-start;background:transparent;border:0;color:var(--accent);cursor:pointer;padding:2px 0;font-size:13px;text-decoration:underline;}",
    ".person:disabled{color:#8b96a5;cursor:default;text-decoration:none;}",
    ".sr-only{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap;}",
    "@media (max-width:480px){.panel{right:0;bottom:0;width:100vw;height:100%;border-radius:0;}.launcher{right:14px;bottom:14px;}}",
  ].join("\n");

  // ---------------------------------------------------------------- the UI

  var host = document.createElement("div");
  host.id = "answerdesk-widget";
  host.setAttribute("data-answerdesk", "");
  var shadow = host.attachShadow({ mode: "open" });
  var root = el("div", "root");
  root.setAttribute("lang", LANG);

  var sheetAdopted = false;
  try {
    var sheet = new CSSStyleSheet();
    sheet.replaceSync(CSS);
    shadow.adoptedStyleSheets = [sheet];
    sheetAdopted = true;
  } catch (e) {
    /* older browsers: a <style> element below */
  }
  if (!sheetAdopted) shadow.appendChild(el("style", null, CSS));

  var SVG_NS = "http://www.w3.org/2000/svg";
  function chatIcon() {
    var svg = document.createElementNS(SVG_NS, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    var path = document.createElementNS(SVG_NS, "path");
    path.setAttribute(
      "d",
      "M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4H4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2zm3 6v2h2V9H7zm4 0v2h2V9h-2zm4 0v2h2V9h-2z"
    );
    svg.appendChild(path);
    return svg;
  }

  var THUMB =
    "M2 21h4V9H2v12zm20-11a2 2 0 0 0-2-2h-6.3l1-4.6v-.3a1.5 1.5 0 0 0-.4-1.1L13.2 1 6.6 7.6A2 2 0 0 0 6 9v10a2 2 0 0 0 2 2h9a2 2 0 0 0 1.8-1.2l3-7.1c.1-.2.2-.5.2-.7v-2z";
  function thumbIcon(down) {
    var svg = document.createElementNS(SVG_NS, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    if (down) svg.setAttribute("transform", "rotate(180)");
    var path = document.createElementNS(SVG_NS, "path");
    path.setAttribute("d", THUMB);
    svg.appendChild(path);
    return svg;
  }

  var launcher = el("button", "launcher");
  launcher.type = "button";
  launcher.setAttribute("aria-label", t("launcher"));
  launcher.setAttribute("aria-expanded", "false");
  launcher.setAttribute("aria-controls", "answerdesk-panel");
  launcher.appendChild(chatIcon());
  var badge = el("span", "badge");
  badge.hidden = true;
  badge.setAttribute("aria-hidden", "true");
  launcher.appendChild(badge);

  var panel = el("div", "panel");
  panel.id = "answerdesk-panel";
  panel.hidden = true;
  panel.setAttribute("role", "dialog");
  panel.setAttribute("aria-modal", "false");
  panel.setAttribute("aria-labelledby", "answerdesk-title");

  var header = el("div", "header");
  var titles = el("div", "titles");
  var heading = el("h2", null, TITLE);
  heading.id = "answerdesk-title";
  titles.appendChild(heading);
  titles.appendChild(el("div", "sub", t("subtitle")));
  var closeButton = el("button", "icon-button", "×");
  closeButton.type = "button";
  closeButton.setAttribute("aria-label", t("close"));
  header.appendChild(titles);
  header.appendChild(closeButton);

  var statusBar = el("div", "status");
  statusBar.setAttribute("role", "status");

  var log = el("div", "log");
  log.setAttribute("role", "log");
  log.setAttribute("aria-live", "polite");
  log.setAttribute("aria-relevant", "additions");
  log.setAttribute("aria-label", TITLE);
  log.tabIndex = 0;

  var typing = el("div", "typing");
  typing.hidden = true;
  typing.setAttribute("role", "status");
  var dots = el("span", "dots");
  dots.setAttribute("aria-hidden", "true");
  dots.appendChild(el("i"));
  dots.appendChild(el("i"));
  dots.appendChild(el("i"));
  typing.appendChild(dots);
  typing.appendChild(el("span", null, t("typing")));

  var composer = el("form", "composer");
  composer.setAttribute("novalidate", "");
  var row = el("div", "row");
  var input = el("textarea");
  input.rows = 1;
  input.maxLength = 4000;
  input.placeholder = t("placeholder");
  input.setAttribute("aria-label", t("inputLabel"));
  var sendButton = el("button", "send", t("send"));
  sendButton.type = "submit";
  row.appendChild(input);
  row.appendChild(sendButton);
  var personButton = el("button", "person", t("person"));
  personButton.type = "button";
  composer.appendChild(row);
  composer.appendChild(personButton);

  panel.appendChild(header);
  panel.appendChild(statusBar);
  panel.appendChild(log);
  panel.appendChild(typing);
  panel.appendChild(composer);
  root.appendChild(launcher);
  root.appendChild(panel);
  shadow.appendChild(root);

  // ---------------------------------------------------------------- state

  var state = {
    conversationId: load("conversation"),
    conversationStatus: "bot",
    lastId: 0,
    rendered: {}, // transcript message id -> element
    pending: [], // customer bubbles sent but not yet seen in the transcript
    busy: false,
    historyLoaded: false,
    feedback: loadFeedback(),
    stream: null,
    pollTimer: null,
    streamFailed: false,
    operatorShown: null,
  };

  function scrollToEnd() {
    log.scrollTop = log.scrollHeight;
  }

  function setTyping(on, text) {
    typing.hidden = !on;
    typing.lastChild.textContent = text || t("typing");
  }

  function setStatusLine(text) {
    statusBar.textContent = text || "";
  }

  function showNotice(text, retry) {
    var notice = el("div", "notice");
    notice.setAttribute("role", "alert");
    notice.appendChild(el("span", null, text));
    if (retry) {
      var again = el("button", null, t("retry"));
      again.type = "button";
      again.addEventListener("click", function () {
        notice.remove();
        retry();
      });
      notice.appendChild(again);
    }
    log.appendChild(notice);
    scrollToEnd();
    return notice;
  }

  function problemText(status, body) {
    if (status >= 500 || !body) return t("serverError");
    var detail = body.detail || body.title || "";
    return detail ? t("rejected", { detail: detail }) : t("serverError");
  }

  // ---------------------------------------------------------------- HTTP

  function api(method, path, body, headers) {
    var options = { method: method, headers: { Accept: "application/json" } };
    for (var name in headers || {}) options.headers[name] = headers[name];
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    return fetch(API_BASE + path, options).then(
      function (response) {
        return response
          .json()
          .catch(function () {
            return null;
          })
          .then(function (json) {
            return { ok: response.ok, status: response.status, body: json };
          });
      },
      function () {
        return { ok: false, status: 0, body: null }; // network down, blocked, CORS
      }
    );
  }

  // ---------------------------------------------------------------- rendering messages

  function authorLabel(item) {
    if (item.role === "operator") return item.author || t("operator");
    if (item.role === "bot") return null;
    return null;
  }

  function renderFeedback(bubble, messageId) {
    var box = el("div", "feedback");
    // Drawn, not emoji: a page without an emoji font would show empty boxes.
    var up = el("button");
    up.appendChild(thumbIcon(false));
    var down = el("button");
    down.appendChild(thumbIcon(true));
    var note = el("span", "feedback-note");
    note.setAttribute("role", "status");
    [
      [up, 1, "helpful"],
      [down, -1, "notHelpful"],
    ].forEach(function (spec) {
      var button = spec[0];
      button.type = "button";
      button.setAttribute("aria-label", t(spec[2]));
      button.title = t(spec[2]);
      button.setAttribute("aria-pressed", "false");
      button.dataset.value = String(spec[1]);
      button.addEventListener("click", function () {
        giveFeedback(messageId, spec[1], up, down, note);
      });
      box.appendChild(button);
    });
    box.appendChild(note);
    var given = state.feedback[messageId];
    if (given) markFeedback(given, up, down, note);
    bubble.appendChild(box);
  }

  function markFeedback(value, up, down, note) {
    up.setAttribute("aria-pressed", String(value === 1));
    down.setAttribute("aria-pressed", String(value === -1));
    up.disabled = true;
    down.disabled = true;
    note.textContent = t("feedbackThanks");
  }

  function giveFeedback(messageId, value, up, down, note) {
    up.disabled = true;
    down.disabled = true;
    api("POST", "/v1/messages/" + messageId + "/feedback", { value: value }).then(function (res) {
      if (res.ok) {
        state.feedback[messageId] = value;
        save("feedback", JSON.stringify(state.feedback));
        markFeedback(value, up, down, note);
      } else {
        up.disabled = false;
        down.disabled = false;
        note.textContent = res.status ? t("feedbackFailed") : t("networkError");
      }
    });
  }

  function renderChoices(bubble, suggestions) {
    var box = el("div", "choices");
    box.setAttribute("role", "group");
    box.setAttribute("aria-label", t("choose"));
    suggestions.forEach(function (suggestion) {
      var button = el("button", "choice", suggestion.title);
      button.type = "button";
      button.dataset.choice = suggestion.id;
      button.addEventListener("click", function () {
        Array.prototype.forEach.call(box.querySelectorAll("button"), function (b) {
          b.disabled = true;
        });
        button.setAttribute("aria-pressed", "true");
        send(suggestion.title, suggestion.id);
      });
      box.appendChild(button);
    });
    bubble.appendChild(box);
  }

  /** One transcript item, optionally with what only the chat response knows (choices, title). */
  function renderItem(item, extra) {
    var bubble;
    if (item.role === "customer") {
      bubble = el("div", "msg customer", item.text);
    } else if (item.role === "system") {
      bubble = el("div", "system", item.text);
    } else {
      bubble = el("div", "msg " + (item.role === "operator" ? "operator" : "bot"));
      var label = authorLabel(item);
      if (label) bubble.appendChild(el("span", "author", label));
      var body = el("div", "body");
      var text = item.text || "";
      if (extra && extra.suggestions && extra.suggestions.length && item.status === "clarify") {
        text = text.split("\n")[0]; // the numbered list becomes buttons below
      }
      renderMarkdown(text, body);
      bubble.appendChild(body);
      if (extra && extra.article && extra.article.title) {
        bubble.appendChild(el("span", "source", t("source", { title: extra.article.title })));
      }
      if (extra && extra.suggestions && extra.suggestions.length && item.status === "clarify") {
        renderChoices(bubble, extra.suggestions);
      }
      if (item.role === "bot" && item.status === "answered" && item.id) {
        renderFeedback(bubble, item.id);
      }
    }
    if (item.id) {
      bubble.dataset.messageId = String(item.id);
      state.rendered[item.id] = bubble;
    }
    bubble.dataset.role = item.role;
    log.appendChild(bubble);
    scrollToEnd();
    if (item.role !== "customer" && bubble.offsetHeight > log.clientHeight - 16) {
      log.scrollTop = bubble.offsetTop - 8; // a long answer is read from its start
    }
    return bubble;
  }

  /** A transcript item from history, the event stream or polling; each id is shown once. */
  function acceptItem(item) {
    if (!item || !item.id) return;
    if (item.id > state.lastId) state.lastId = item.id;
    if (state.rendered[item.id]) return;
    // System notes ("the customer pressed the button") are for staff; status events tell the
    // customer what matters.
    if (item.role === "system") return;
    if (item.role === "customer") {
      for (var i = 0; i < state.pending.length; i++) {
        if (state.pending[i].text === item.text) {
          var bubble = state.pending.splice(i, 1)[0].element;
          bubble.dataset.messageId = String(item.id);
          state.rendered[item.id] = bubble;
          return;
        }
      }
    }
    renderItem(item);
    if (item.role === "operator") {
      setTyping(false);
      if (panel.hidden) badge.hidden = false;
    }
  }

  // ---------------------------------------------------------------- conversation status

  function setConversationStatus(status, info) {
    state.conversationStatus = status || "bot";
    var handoff = state.conversationStatus === "handoff";
    personButton.disabled = handoff;
    if (!handoff) {
      setStatusLine("");
    } else if (info && info.operator) {
      setStatusLine(t("joined", { name: info.operator }));
    } else if (info && info.queue_position) {
      setStatusLine(t("queue", { n: info.queue_position }));
    } else if (!statusBar.textContent) {
      setStatusLine(t("waiting"));
    }
    updateLive();
  }

  function onStatusEvent(info) {
    if (!info) return;
    var operator = info.operator || null;
    if (operator && state.operatorShown !== operator) {
      state.operatorShown = operator;
    }
    setConversationStatus(info.status, info);
  }

  // ---------------------------------------------------------------- live updates

  function wantLive() {
    return !!state.conversationId && (!panel.hidden || state.conversationStatus === "handoff");
  }

  function updateLive() {
    if (wantLive()) startLive();
    else stopLive();
  }

  function startLive() {
    if (state.stream || state.pollTimer) return;
    if (!state.streamFailed && window.EventSource) {
      var url =
        API_BASE +
        "/v1/conversations/" +
        encodeURIComponent(state.conversationId) +
        "/events?after=" +
        state.lastId;
      var stream = new EventSource(url);
      state.stream = stream;
      stream.addEventListener("open", function () {
        fetchMessages(); // whatever happened while (re)connecting
      });
      stream.addEventListener("message", function (event) {
        try {
          acceptItem(JSON.parse(event.data));
        } catch (e) {
          /* a malformed event is skipped */
        }
      });
      stream.addEventListener("status", function (event) {
        try {
          onStatusEvent(JSON.parse(event.data));
        } catch (e) {
          /* ignored */
        }
      });
      stream.addEventListener("error", function () {
        // CLOSED: the server refused the stream (no such endpoint, proxy); poll instead.
        // CONNECTING: the browser reconnects by itself, with Last-Event-ID.
        if (stream.readyState === EventSource.CLOSED) {
          state.stream = null;
          state.streamFailed = true;
          startLive();
        }
      });
      return;
    }
    state.pollTimer = window.setInterval(poll, 2500);
    poll();
  }

  function stopLive() {
    if (state.stream) state.stream.close();
    state.stream = null;
    if (state.pollTimer) window.clearInterval(state.pollTimer);
    state.pollTimer = null;
  }

  var polling = false;
  function poll() {
    if (polling || !state.conversationId) return;
    polling = true;
    fetchMessages().then(function () {
      polling = false;
    });
  }

  function fetchMessages() {
    var id = state.conversationId;
    return api(
      "GET",
      "/v1/conversations/" + encodeURIComponent(id) + "/messages?after=" + state.lastId
    ).then(function (res) {
      if (id !== state.conversationId) return res;
      if (res.ok && res.body) {
        (res.body.items || []).forEach(acceptItem);
        if (res.body.status && res.body.status !== state.conversationStatus) {
          setConversationStatus(res.body.status);
        }
      } else if (res.status === 404) {
        forgetConversation(); // the server no longer knows it: start afresh
      }
      return res;
    });
  }

  function forgetConversation() {
    stopLive();
    state.conversationId = null;
    state.lastId = 0;
    save("conversation", null);
    setConversationStatus("bot");
  }

  function loadHistory() {
    if (state.historyLoaded) return Promise.resolve();
    state.historyLoaded = true;
    if (!state.conversationId) {
      greet();
      return Promise.resolve();
    }
    return fetchMessages().then(function (res) {
      if (!res.ok) {
        if (res.status !== 404) {
          state.historyLoaded = false;
          showNotice(res.status ? problemText(res.status, res.body) : t("networkError"), loadHistory);
        } else {
          greet();
        }
      } else if (!log.querySelector(".msg")) {
        greet();
      }
      updateLive();
    });
  }

  function greet() {
    if (log.querySelector(".greeting")) return;
    var bubble = el("div", "msg bot greeting");
    renderMarkdown(t("greeting"), bubble);
    log.insertBefore(bubble, log.firstChild);
  }

  // ---------------------------------------------------------------- sending

  function setBusy(busy) {
    state.busy = busy;
    sendButton.disabled = busy;
    setTyping(busy);
  }

  function send(text, choice, existingBubble, retried) {
    text = String(text || "").trim();
    if (!text || state.busy) return;
    var bubble = existingBubble || renderItem({ role: "customer", text: text });
    bubble.classList.remove("failed");
    // One key per message, kept on its bubble: "Try again" after a lost answer sends the same
    // key, and the server answers with the first response instead of storing it twice.
    if (!bubble.dataset.requestKey) bubble.dataset.requestKey = randomId();
    var pending = { text: text, element: bubble };
    state.pending.push(pending);
    setBusy(true);
    var body = { channel: "web", user: { id: userId }, text: text };
    if (state.conversationId) body.conversation_id = state.conversationId;
    else body.metadata = { page: location.origin + location.pathname, locale: navigator.language };
    if (choice) body.choice = choice;
    api("POST", "/v1/chat", body, { "Idempotency-Key": bubble.dataset.requestKey }).then(function (res) {
      setBusy(false);
      if (res.ok && res.body) {
        onChatResponse(res.body, pending);
        return;
      }
      var index = state.pending.indexOf(pending);
      if (index !== -1) state.pending.splice(index, 1);
      if ((res.status === 404 || res.status === 409) && body.conversation_id && !retried) {
        forgetConversation(); // gone or not ours any more: a new conversation
        delete bubble.dataset.requestKey; // another request now, so another key
        send(text, null, bubble, true);
        return;
      }
      bubble.classList.add("failed");
      var retry =
        res.status === 0 || res.status >= 500
          ? function () {
              send(text, choice, bubble);
            }
          : null;
      showNotice(res.status ? problemText(res.status, res.body) : t("networkError"), retry);
    });
  }

  function onChatResponse(reply, pending) {
    if (reply.conversation_id !== state.conversationId) {
      state.conversationId = reply.conversation_id;
      save("conversation", reply.conversation_id);
    }
    if (!reply.reply) {
      // A person has the conversation; the bot stays silent and message_id is the customer's.
      bindPending(pending, reply.message_id);
    } else {
      var item = {
        id: reply.message_id,
        role: "bot",
        text: reply.reply,
        status: reply.status,
        article_id: reply.article ? reply.article.id : null,
      };
      // The event stream may have shown this reply already, without its choices: redraw it.
      var shown = state.rendered[item.id];
      var bubble = renderItem(item, { suggestions: reply.suggestions, article: reply.article });
      if (shown && shown !== bubble) shown.replaceWith(bubble);
    }
    if (reply.status === "handoff") setConversationStatus("handoff");
    else updateLive();
  }

  function bindPending(pending, messageId) {
    var index = state.pending.indexOf(pending);
    if (index !== -1) state.pending.splice(index, 1);
    if (!state.rendered[messageId]) {
      pending.element.dataset.messageId = String(messageId);
      state.rendered[messageId] = pending.element;
    }
  }

  function requestPerson() {
    if (state.busy || state.conversationStatus === "handoff") return;
    if (!state.conversationId) {
      send(t("personMessage"));
      return;
    }
    personButton.disabled = true;
    api(
      "POST",
      "/v1/conversations/" + encodeURIComponent(state.conversationId) + "/handoff",
      {}
    ).then(function (res) {
      if (res.ok) {
        setConversationStatus("handoff", res.body || {});
        fetchMessages();
        return;
      }
      personButton.disabled = false;
      if (res.status === 404 || res.status === 405) {
        // This server has no handoff endpoint: ask in words, the bot hands off.
        send(t("personMessage"));
        return;
      }
      if (res.status === 409) {
        setConversationStatus("handoff");
        return;
      }
      showNotice(res.status ? problemText(res.status, res.body) : t("networkError"), requestPerson);
    });
  }

  // ---------------------------------------------------------------- open, close, keyboard

  function openPanel(restoring) {
    panel.hidden = false;
    launcher.setAttribute("aria-expanded", "true");
    badge.hidden = true;
    save("open", "1");
    loadHistory();
    updateLive();
    scrollToEnd();
    if (restoring !== true) input.focus(); // a reopened panel after a reload leaves focus be
  }

  function closePanel() {
    panel.hidden = true;
    launcher.setAttribute("aria-expanded", "false");
    save("open", null);
    updateLive();
    launcher.focus();
  }

  launcher.addEventListener("click", function () {
    openPanel();
  });
  closeButton.addEventListener("click", closePanel);
  personButton.addEventListener("click", requestPerson);
  composer.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value;
    if (!text.trim() || state.busy) return;
    input.value = "";
    send(text);
    input.focus();
  });
  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      composer.requestSubmit ? composer.requestSubmit() : sendButton.click();
    }
  });
  panel.addEventListener("keydown", function (event) {
    if (event.key === "Escape") {
      event.stopPropagation();
      closePanel();
    }
  });

  function mount() {
    document.body.appendChild(host);
    if (state.conversationId) {
      // Load the history now so live replies (and the unread badge) work while closed.
      loadHistory();
    }
    if (load("open") === "1") openPanel(true);
  }

  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);

  // A tiny API for the host page and for tests; nothing here bypasses the safe renderer.
  window.Answerdesk = {
    open: function () {
      openPanel();
    },
    close: closePanel,
    renderMarkdown: function (source) {
      return renderMarkdown(source, document.createDocumentFragment());
    },
  };
})();
