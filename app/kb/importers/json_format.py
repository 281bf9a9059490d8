"""JSON: a list of article objects (what GET /v1/articles returns as `items` also works)."""

import json
from typing import Any

from app.kb.importers.base import MalformedUpload, Parsed, RawArticle
from app.kb.schemas import ArticleIn, Rejection

# Output-only fields of ArticleOut: a JSON export can be imported again as it is.
IGNORED = {"created_at", "updated_at", "translations", "warnings"}
_DECODER = json.JSONDecoder()


def _element_lines(text: str) -> list[int]:
    """The line each element of a top-level JSON list starts on (the text is valid JSON)."""
    lines: list[int] = []
    position = text.index("[") + 1
    whitespace = " \t\r\n"
    line, counted = 1, 0  # newlines are counted once, from where the last count stopped
    while True:
        while text[position] in whitespace:
            position += 1
        if text[position] == "]":
            return lines
        line += text.count("\n", counted, position)
        counted = position
        lines.append(line)
        _, position = _DECODER.raw_decode(text, position)
        while text[position] in whitespace:
            position += 1
        if text[position] == ",":
            position += 1


def parse(name: str, text: str) -> list[Parsed]:
    try:
        data: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        raise MalformedUpload(name, f"not valid JSON: {exc.msg}", exc.lineno) from exc
    if isinstance(data, dict) and isinstance(data.get("items", data.get("articles")), list):
        items, lines = data.get("items", data.get("articles")), None
    elif isinstance(data, list):
        items, lines = data, _element_lines(text)
    else:
        raise MalformedUpload(name, "expected a list of article objects", 1)
    parsed: list[Parsed] = []
    for position, item in enumerate(items):
        line = lines[position] if lines else None
        if not isinstance(item, dict):
            parsed.append(Rejection(file=name, line=line, reason="not an object"))
            continue
        fields = {k: v for k, v in item.items() if k not in IGNORED}
        article_id = fields.pop("id", None)
        unknown = sorted(set(fields) - set(ArticleIn.model_fields))
        if unknown:
            parsed.append(
                Rejection(
                    file=name,
                    line=line,
                    id=str(article_id) if article_id is not None else None,
                    reason=f"unknown field(s): {', '.join(unknown)}",
                )
            )
            continue
        parsed.append(RawArticle(name, line, str(article_id) if article_id else None, fields))
    return parsed
