"""Markdown with YAML front matter: the same format as the kb/ folder."""

from pathlib import PurePosixPath
from typing import Any

import frontmatter
import yaml

from app.kb.importers.base import Parsed, RawArticle, slugify
from app.kb.schemas import ArticleIn, Rejection


def parse(name: str, text: str) -> list[Parsed]:
    try:
        post = frontmatter.loads(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 2 if mark is not None else 1  # +1 for 1-based, +1 for the '---'
        reason = f"front matter is not valid YAML: {getattr(exc, 'problem', None) or exc}"
        return [Rejection(file=name, line=line, reason=reason)]
    meta: dict[str, Any] = dict(post.metadata)
    article_id = str(meta.pop("id", "") or slugify(PurePosixPath(name).stem)) or None
    fields = {k: v for k, v in meta.items() if k in ArticleIn.model_fields}
    fields["body"] = post.content.strip()
    if isinstance(fields.get("title"), (int, float)):
        fields["title"] = str(fields["title"])
    return [RawArticle(name, 1, article_id, fields)]
