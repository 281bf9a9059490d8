"""Seeding the database from a folder of Markdown articles with YAML front matter."""

import logging
from pathlib import Path
from typing import Any

import frontmatter
from pydantic import ValidationError
from sqlalchemy.orm import Session

from app.kb.schemas import ArticleIn
from app.kb.service import existing_ids, put_article
from app.matching.types import ArticleDoc

log = logging.getLogger("answerdesk.kb")


def parse_markdown_article(text: str, fallback_id: str) -> tuple[str, ArticleIn]:
    post = frontmatter.loads(text)
    meta: dict[str, Any] = dict(post.metadata)
    article_id = str(meta.pop("id", fallback_id))
    fields = {k: v for k, v in meta.items() if k in ArticleIn.model_fields}
    fields["body"] = post.content.strip()
    fields.setdefault("questions", [])
    return article_id, ArticleIn.model_validate(fields)


def parse_kb_dir(kb_dir: str | Path) -> list[tuple[str, ArticleIn]]:
    """The folder's Markdown articles; a file that does not parse is logged and skipped."""
    parsed: list[tuple[str, ArticleIn]] = []
    for path in sorted(Path(kb_dir).glob("*.md")):
        try:
            parsed.append(parse_markdown_article(path.read_text(encoding="utf-8"), path.stem))
        except (ValidationError, ValueError) as exc:
            log.warning("skipping %s: %s", path, exc)
    return parsed


def kb_dir_docs(kb_dir: str | Path) -> list[ArticleDoc]:
    """The folder's published articles as the index sees them, for an index without a
    database (the evaluation, matching tests)."""
    return [
        ArticleDoc(
            id=article_id,
            language=article.language,
            title=article.title,
            body=article.body,
            questions=tuple(article.questions),
            always_handoff=article.always_handoff,
        )
        for article_id, article in parse_kb_dir(kb_dir)
        if article.status == "published"
    ]


def load_kb_dir(*, session: Session, kb_dir: str) -> int:
    """Adds the folder's articles that the database does not have yet; returns how many."""
    if not kb_dir:
        return 0
    parsed = parse_kb_dir(kb_dir)
    known = existing_ids(session=session, ids=[article_id for article_id, _ in parsed])
    added = 0
    for article_id, article_in in parsed:
        if article_id not in known:
            put_article(
                session=session, article_id=article_id, article_in=article_in, source="kb_dir"
            )
            added += 1
    return added
