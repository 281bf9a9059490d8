// A small Markdown subset rendered straight into DOM nodes. Text only ever becomes text nodes,
// so nothing in an article can add markup, scripts or event handlers; links are limited to
// http(s), mailto and tel, and open in a new tab without an opener.
import { h } from "./dom.js";

const SAFE_URL = /^(https?:\/\/|mailto:|tel:)/i;
const INLINE =
  /(`[^`\n]+`)|(\*\*[^*\n]+?\*\*)|(__[^_\n]+?__)|(\[[^\]\n]+\]\([^)\s]+\))|(\*[^*\s\n][^*\n]*?\*)|(\b_[^_\s\n][^_\n]*?_\b)/;

export function inline(text) {
  const out = [];
  let rest = text;
  while (rest) {
    const match = INLINE.exec(rest);
    if (!match) {
      out.push(rest);
      break;
    }
    if (match.index) out.push(rest.slice(0, match.index));
    const token = match[0];
    if (match[1]) out.push(h("code", null, token.slice(1, -1)));
    else if (match[2] || match[3]) out.push(h("strong", null, inline(token.slice(2, -2))));
    else if (match[4]) {
      const split = token.indexOf("](");
      const label = token.slice(1, split);
      const url = token.slice(split + 2, -1);
      out.push(
        SAFE_URL.test(url)
          ? h("a", { href: url, target: "_blank", rel: "noopener noreferrer" }, inline(label))
          : label,
      );
    } else out.push(h("em", null, inline(token.slice(1, -1))));
    rest = rest.slice(match.index + token.length);
  }
  return out;
}

const BULLET = /^\s*[-*+]\s+(.*)$/;
const NUMBER = /^\s*(\d{1,9})[.)]\s+(.*)$/;
const HEADING = /^(#{1,6})\s+(.*?)\s*#*\s*$/;

export function renderMarkdown(source) {
  const root = h("div", { class: "markdown" });
  const lines = String(source || "").replace(/\r\n?/g, "\n").split("\n");
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (!line.trim()) {
      i += 1;
      continue;
    }
    if (line.trim().startsWith("```")) {
      const code = [];
      i += 1;
      while (i < lines.length && !lines[i].trim().startsWith("```")) code.push(lines[i++]);
      i += 1;
      root.append(h("pre", null, h("code", null, code.join("\n"))));
      continue;
    }
    const heading = HEADING.exec(line);
    if (heading) {
      const level = Math.min(heading[1].length + 2, 6); // the page owns h1 and h2
      root.append(h(`h${level}`, null, inline(heading[2])));
      i += 1;
      continue;
    }
    if (BULLET.test(line) || NUMBER.test(line)) {
      const ordered = NUMBER.test(line);
      const pattern = ordered ? NUMBER : BULLET;
      const first = ordered ? Number(NUMBER.exec(line)[1]) : 1;
      const list = h(ordered ? "ol" : "ul", ordered && first !== 1 ? { start: first } : null);
      while (i < lines.length && pattern.test(lines[i])) {
        const match = pattern.exec(lines[i]);
        list.append(h("li", null, inline(ordered ? match[2] : match[1])));
        i += 1;
      }
      root.append(list);
      continue;
    }
    if (line.startsWith(">")) {
      const quoted = [];
      while (i < lines.length && lines[i].startsWith(">")) quoted.push(lines[i++].replace(/^>\s?/, ""));
      root.append(h("blockquote", null, inline(quoted.join(" "))));
      continue;
    }
    const paragraph = [];
    while (
      i < lines.length &&
      lines[i].trim() &&
      !HEADING.test(lines[i]) &&
      !BULLET.test(lines[i]) &&
      !NUMBER.test(lines[i]) &&
      !lines[i].trim().startsWith("```") &&
      !lines[i].startsWith(">")
    ) {
      paragraph.push(lines[i++].trim());
    }
    root.append(h("p", null, inline(paragraph.join(" "))));
  }
  return root;
}
