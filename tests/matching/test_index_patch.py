"""SearchIndex.with_changes: a few changed articles patched in without a full build."""

from __future__ import annotations

import dataclasses

from app.matching.engine import match
from app.matching.index import SearchIndex
from app.matching.types import ArticleDoc

TOPICS = {
    "refund": ("Getting a refund", ["money back", "return my payment", "refund please"]),
    "router": ("Router keeps rebooting", ["router restarts", "modem reboots", "wifi box resets"]),
    "tariff": ("Changing your tariff", ["switch plan", "cheaper tariff", "change my plan"]),
    "invoice": ("Where is my invoice", ["download invoice", "bill for march", "get my bill"]),
    "password": ("Resetting a password", ["forgot password", "cannot log in", "reset login"]),
    "delivery": ("Tracking a delivery", ["where is my parcel", "track order", "courier status"]),
}
DOCS = [
    ArticleDoc(
        id=key, language="en", title=title, body=f"{title}. Steps follow.", questions=tuple(q)
    )
    for key, (title, q) in TOPICS.items()
]
ESIM = ArticleDoc(
    id="esim",
    language="en",
    title="Activating an eSIM",
    body="Scan the QR code from your personal account in the phone settings.",
    questions=("esim activation", "turn on esim", "esim qr code"),
)


def test_a_new_article_answers_from_a_patched_index() -> None:
    full = SearchIndex.build(DOCS, version=1)
    assert full.classifier is not None  # three questions per article: a classifier KB
    patched = full.with_changes([*DOCS, ESIM], synonyms={}, version=2)
    assert patched is not None and patched.patched and patched.version == 2
    assert patched.classifier is None  # retrieval alone until the full build
    top = match(patched, "how do I activate my esim").top
    assert top is not None and top.article_id == "esim"
    top = match(patched, "I want my money back").top
    assert top is not None and top.article_id == "refund"


def test_changed_and_removed_articles_are_patched_too() -> None:
    full = SearchIndex.build(DOCS, version=1)
    moved = dataclasses.replace(DOCS[1], title="Parking for visitors", questions=("car park",))
    docs = [moved, *DOCS[2:]]  # "refund" removed, "router" rewritten
    patched = full.with_changes(docs, synonyms={}, version=2)
    assert patched is not None
    assert {d.id for d in patched.docs} == {d.id for d in docs}
    top = match(patched, "visitors car park").top
    assert top is not None and top.article_id == "router"
    assert all(c.article_id != "refund" for c in match(patched, "refund please").candidates)


def test_changed_synonyms_need_a_full_build() -> None:
    full = SearchIndex.build(DOCS, synonyms={"pwd": "password"}, version=1)
    assert full.with_changes(DOCS, synonyms={"pwd": "password"}, version=2) is not None
    assert full.with_changes(DOCS, synonyms={"inet": "internet"}, version=2) is None
