"""How long until an imported knowledge base answers: generate N articles, import them through
the service layer (parse JSON, validate, upsert, revisions, audit), rebuild the index once, and
ask one question per sampled article.

    .venv/bin/python -m scripts.bench_import                 # 1,000 and 10,000 articles
    .venv/bin/python -m scripts.bench_import --sizes 100000  # the large case (slow)
    .venv/bin/python -m scripts.bench_import --no-write      # print only

Writes the table to docs/BENCHMARKS.md (section "import"). Not a test: timings vary.
"""

import argparse
import io
import json
import random
import tempfile
import time
from pathlib import Path

from app.db import make_engine, make_session_factory
from app.kb import bulk
from app.kb.importers import parse_upload
from app.kb.reindex import IndexHolder
from app.kb.schemas import ArticleIn
from app.kb.service import bump_version, current_version, put_article
from app.matching.engine import match
from app.migrate import upgrade_database
from scripts.report import machine_line, write_section

TOPICS = (
    "invoice payment card refund tariff router wifi password account balance contract "
    "delivery order parcel address phone number email login subscription discount bonus "
    "installation technician appointment modem cable speed outage roaming sim limit "
    "statement receipt autopay debt fine deposit transfer"
).split()
ACTIONS = "change cancel check pay renew reset restore block unblock move connect".split()
FILLER = (
    "open the personal account and choose the section in the menu then confirm with the code "
    "from the message the change takes effect within a day and we send a notification"
).split()


def generate(count: int, seed: int = 7) -> list[dict[str, object]]:
    rng = random.Random(seed)
    articles = []
    for number in range(count):
        action, topic, other = rng.choice(ACTIONS), rng.choice(TOPICS), rng.choice(TOPICS)
        code = f"{topic}{number}"  # a word only this article has, so each one is answerable
        body = " ".join(rng.choices(FILLER, k=60))
        articles.append(
            {
                "id": f"article-{number}",
                "language": "en",
                "title": f"How to {action} the {topic} {other} {code}",
                "body": f"To {action} the {topic} {code}: {body}.",
                "questions": [f"{action} {topic} {code}", f"how do I {action} my {code}"],
                "tags": [topic],
            }
        )
    return articles


def run(count: int) -> dict[str, float | int | str]:
    articles = generate(count)
    payload = json.dumps(articles).encode()
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'bench.db'}"
        upgrade_database(url)
        factory = make_session_factory(make_engine(url))
        with factory() as session:
            bump_version(session=session)
            session.commit()
        # Unpaced: the bench measures how long a full build takes, not when the pacing allows it.
        holder = IndexHolder(factory, full_build_pace=0)
        started = time.perf_counter()
        parsed = parse_upload("bench.json", io.BytesIO(payload), max_rows=10**6, max_bytes=10**9)
        with factory() as session:
            report = bulk.import_articles(session=session, parsed=parsed, author="bench")
            version = current_version(session=session)
            session.commit()
        stored = time.perf_counter()
        ready = holder.refresh(version=version, timeout=3600)
        answerable = time.perf_counter()
        sample = random.Random(1).sample(articles, min(200, count))
        right = sum(
            (top := match(holder.index, str(a["questions"][1])).top) is not None  # type: ignore[index]
            and top.article_id == a["id"]
            for a in sample
        )
        change = one_change(factory, holder)
    return {
        "articles": count,
        "created": report.created,
        "import_s": stored - started,
        "index_s": answerable - stored,
        "total_s": answerable - started,
        "ready": "yes" if ready else "no",
        "top1": f"{right}/{len(sample)}",
        **change,
    }


NEW_ARTICLE = ArticleIn(
    language="en",
    title="How to activate an eSIM on a new phone",
    body="Open the settings, scan the QR code from your personal account; it takes 5 minutes.",
    questions=["esim activation", "how do I turn on my esim"],
)
SECOND_ARTICLE = ArticleIn(
    language="en",
    title="How to transfer a number to another operator",
    body="Apply in the office of the new operator with your passport; the move takes 8 days.",
    questions=["number portability", "how do I keep my number with another operator"],
)


def one_change(factory, holder: IndexHolder) -> dict[str, float | bool]:  # type: ignore[no-untyped-def]
    """An editor saves one new article into the imported KB: seconds from the commit until
    it answers (a quick patch), and until the full build that follows has replaced the patch.
    A second article saved while that full build runs must not wait for it."""
    change_s, change_right = save_and_wait(factory, holder, "esim", NEW_ARTICLE, "activate my esim")
    started = time.perf_counter() - change_s
    time.sleep(min(1.0, change_s))  # the full build is under way
    second_s, second_right = (
        save_and_wait(factory, holder, "portability", SECOND_ARTICLE, "keep my number")
        if holder.index.patched
        else (float("nan"), False)  # the full build was over before it could be measured
    )
    while holder.index.patched and time.perf_counter() - started < 3600:
        time.sleep(0.05)
    return {
        "change_s": change_s,
        "change_right": change_right,
        "second_s": second_s,
        "second_right": second_right,
        "full_s": time.perf_counter() - started,
    }


def save_and_wait(
    factory, holder: IndexHolder, article_id: str, article: ArticleIn, question: str
) -> tuple[float, bool]:  # type: ignore[no-untyped-def]
    """Seconds from the commit of one article until the index answers from it, and whether
    `question` then finds it."""
    with factory() as session:
        put_article(session=session, article_id=article_id, article_in=article, author="bench")
        session.commit()
        version = current_version(session=session)
    started = time.perf_counter()
    holder.refresh(version=version, timeout=3600)
    answerable = time.perf_counter() - started
    top = match(holder.index, question).top
    return answerable, top is not None and top.article_id == article_id


def table(rows: list[dict[str, float | int | str]]) -> str:
    lines = [
        "| articles | parse + store (s) | index rebuild (s) | until answerable (s) | "
        "sampled questions answered by their article | one new article answerable (s) | "
        "its full rebuild done (s) | another article during that rebuild, answerable (s) |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        lines.append(
            f"| {r['articles']:,} | {r['import_s']:.1f} | {r['index_s']:.1f} | "
            f"{r['total_s']:.1f} | {r['top1']} | {r['change_s']:.2f} "
            f"({'right' if r['change_right'] else 'WRONG'} article) | "
            f"{r['full_s']:.1f} | {r['second_s']:.2f} "
            f"({'right' if r['second_right'] else 'WRONG'} article) |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000", help="comma-separated article counts")
    parser.add_argument("--no-write", action="store_true", help="do not update BENCHMARKS.md")
    args = parser.parse_args()
    rows = []
    for size in (int(s) for s in args.sizes.split(",")):
        rows.append(run(size))
        print(table(rows[-1:]).splitlines()[-1], flush=True)
    text = (
        f"{machine_line()}. SQLite, through the service layer: JSON parse, validation, upsert "
        "with a revision and an audit entry per article, one index rebuild; then one new "
        "article saved through the service layer, patched into the index while a full build "
        "follows in the background; a second new article is saved a second into that full "
        "build, and patched in while it runs. Full builds unpaced here "
        "(`ANSWERDESK_KB_FULL_BUILD_PACE=0`), to time the build itself. "
        "`python -m scripts.bench_import`.\n\n" + table(rows)
    )
    print(text)
    if not args.no_write:
        write_section("import", "Knowledge-base import", text)


if __name__ == "__main__":
    main()
