"""HTML, one article per page (Zendesk Guide and similar help-centre exports).

The title is the first <h1> (else <title>); the body is the article element (<article>,
<main>, Zendesk's .article-body, else <body>) turned into Markdown by markdownify. The id comes
from <meta name="article-id">, else the file name; the language from <html lang>; tags from
<meta name="keywords">.
"""

import re
from pathlib import PurePosixPath

from bs4 import BeautifulSoup
from markdownify import markdownify

from app.kb.importers.base import Parsed, RawArticle, slugify, split_list
from app.kb.schemas import Rejection

BODY_SELECTORS = (".article-body", "article", "main", "[itemprop=articleBody]", "body")
DROP = ("script", "style", "nav", "header", "footer", "noscript", "form")


def _meta(soup: BeautifulSoup, name: str) -> str | None:
    tag = soup.find("meta", attrs={"name": name})
    content = tag.get("content") if tag else None
    return str(content).strip() if content else None


def parse(name: str, text: str) -> list[Parsed]:
    soup = BeautifulSoup(text, "html.parser")
    heading = soup.find("h1")
    title = heading.get_text(" ", strip=True) if heading else ""
    if not title and soup.title:
        title = soup.title.get_text(" ", strip=True)
    article_id = (
        _meta(soup, "article-id")
        or _meta(soup, "answerdesk:id")
        or slugify(PurePosixPath(name).stem)
        or None
    )
    if not title:
        return [Rejection(file=name, line=1, id=article_id, reason="no <h1> or <title>")]
    node = next((n for s in BODY_SELECTORS if (n := soup.select_one(s)) is not None), soup)
    if heading is not None:
        heading.decompose()
    for tag in node.find_all(DROP):
        tag.decompose()
    body = markdownify(str(node), heading_style="ATX", bullets="-", strip=["img"]).strip()
    body = re.sub(r"\n{3,}", "\n\n", body)
    fields: dict[str, object] = {"title": title, "body": body}
    html_tag = soup.find("html")
    language = html_tag.get("lang") if html_tag else None
    if language:
        fields["language"] = re.split(r"[-_]", str(language))[0].lower()
    keywords = _meta(soup, "keywords")
    if keywords:
        fields["tags"] = split_list(keywords, ",")
    return [RawArticle(name, 1, article_id, fields)]
