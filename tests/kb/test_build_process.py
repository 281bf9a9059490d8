"""Full builds in a child process: the same index as one built here, mapped in read-only,
patchable, and no files left behind."""

import time
from pathlib import Path

import pytest
from sqlalchemy.orm import sessionmaker

from app.db import Base, make_engine, make_session_factory
from app.kb.build_process import child_builder
from app.kb.reindex import IndexHolder, build_index, patch_index
from app.kb.schemas import ArticleIn
from app.kb.service import bump_version, current_version, put_article
from app.matching.engine import match
from app.matching.index import SearchIndex
from app.migrate import upgrade_database

TOPICS = {
    "pay-by-card": ("How do I pay by card", "Pay in the app with Visa or Mastercard."),
    "reset-password": ("I forgot my password", "Use the reset link on the sign-in page."),
    "router-lights": ("The router lights are red", "Restart the router and check the cable."),
    "move-house": ("I am moving to a new flat", "Tell us the new address a week before."),
}


@pytest.fixture
def factory(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> sessionmaker:
    monkeypatch.setenv("TMPDIR", str(tmp_path / "builds"))  # the child inherits it
    (tmp_path / "builds").mkdir()
    upgrade_database(database_url)
    factory = make_session_factory(make_engine(database_url))
    with factory() as session:
        bump_version(session=session)
        for article_id, (title, body) in TOPICS.items():
            article = ArticleIn(language="en", title=title, body=body)
            put_article(session=session, article_id=article_id, article_in=article)
        session.commit()
    return factory


def mapped(index: SearchIndex) -> bool:
    """Whether the index's arrays are read-only views of a mapped file, as a child's are."""
    return not index.segments[0].phrasings.data.flags.writeable


def test_a_child_builds_the_same_index_and_leaves_no_file(
    factory: sessionmaker, tmp_path: Path
) -> None:
    with factory() as session:
        here = build_index(session)
        there = child_builder(0)(session, None)
    assert mapped(there) and not mapped(here)
    assert there.version == here.version and len(there) == len(here)
    for article_id, (title, _) in TOPICS.items():
        for question in (title, title.lower().replace("i ", "we ")):
            mine, theirs = match(here, question), match(there, question)
            assert theirs.top is not None and theirs.top.article_id == article_id, question
            assert theirs.confidence == mine.confidence
    assert list((tmp_path / "builds").iterdir()) == []


def test_a_small_knowledge_base_is_built_here(factory: sessionmaker) -> None:
    with factory() as session:
        assert not mapped(child_builder(len(TOPICS) + 1)(session, None))


def test_a_mapped_index_takes_patches_and_the_holder_swaps_in_child_builds(
    factory: sessionmaker,
) -> None:
    holder = IndexHolder(factory, builder=child_builder(0), full_build_pace=0)
    assert mapped(holder.current())
    with factory() as session:
        article = ArticleIn(language="en", title="How to activate an eSIM", body="Scan the QR.")
        put_article(session=session, article_id="esim", article_in=article)
        session.commit()
        version = current_version(session=session)
        patched = patch_index(session, holder.current())
    assert patched is not None and patched.patched
    top = match(patched, "how do I activate my esim").top
    assert top is not None and top.article_id == "esim"
    assert holder.refresh(version=version, timeout=120)  # answerable: patched in here...
    deadline = time.monotonic() + 120
    while holder.current().patched and time.monotonic() < deadline:
        time.sleep(0.05)
    full = holder.current()  # ...then replaced by the child's full build
    assert not full.patched and mapped(full) and full.version == version
    top = match(full, "how do I activate my esim").top
    assert top is not None and top.article_id == "esim"


def test_a_database_only_this_process_can_open_is_built_here() -> None:
    engine = make_engine("sqlite:///file:answerdesk-build-test?mode=memory&cache=shared&uri=true")
    upgrade = make_session_factory(engine)
    with upgrade() as session:
        Base.metadata.create_all(session.get_bind())
        bump_version(session=session)
        article = ArticleIn(language="en", title="How do I pay by card", body="In the app.")
        put_article(session=session, article_id="pay", article_in=article)
        session.commit()
        index = child_builder(0)(session, None)
    assert not mapped(index) and len(index) == 1
    engine.dispose()
