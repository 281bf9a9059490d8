"""Seeding the database from a folder of Markdown articles with YAML front matter."""

import logging
from pathlib import Path
from typing import Any

import frontmatter
from pydantic import ValidationError
from sqlalchemy.orm import Session

from app.kb.schemas import ArticleIn
from app.kb.service import existing_ids, put_article

log = logging.getLogger("answerdesk.kb")


def parse_markdown_article(text: str, fallback_id: str) -> tuple[str, ArticleIn]:
    post = frontmatter.loads(text)
    meta: dict[str, Any] = dict(post.metadata)
    article_id = str(meta.pop("id", fallback_id))
    fields = {k: v for k, v in meta.items() if k in ArticleIn.model_fields}
    fields["body"] = post.content.strip()
    fields.setdefault("questions", [])
    return article_id, ArticleIn.model_validate(fields)


def load_kb_dir(*, session: Session, kb_dir: str) -> int:
    """Adds the folder's articles that the database does not have yet; returns how many."""
    if not kb_dir:
        return 0
    files = sorted(Path(kb_dir).glob("*.md"))
    parsed: list[tuple[str, ArticleIn]] = []
    for path in files:
        try:
            parsed.append(parse_markdown_article(path.read_text(encoding="utf-8"), path.stem))
        except (ValidationError, ValueError) as exc:
            log.warning("skipping %s: %s", path, exc)
    known = existing_ids(session=session, ids=[article_id for article_id, _ in parsed])
    added = 0
    for article_id, article_in in parsed:
        if article_id not in known:
            put_article(
                session=session, article_id=article_id, article_in=article_in, source="kb_dir"
            )
            added += 1
    return added
