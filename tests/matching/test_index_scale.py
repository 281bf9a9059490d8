"""What lets the index scale: segments, the postings budget, patches that append a segment."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import scipy.sparse as sp

from app.matching.engine import match
from app.matching.index import (
    MIN_QUERY_FEATURES,
    IndexConfig,
    SearchIndex,
    _postings_sum,
    _similarities,
)
from app.matching.types import ArticleDoc

TOPICS = [
    ("refund", "Getting a refund", "money back for an unused month"),
    ("router", "Router keeps rebooting", "the router restarts every hour"),
    ("tariff", "Changing your tariff", "switch to a cheaper plan"),
    ("invoice", "Where is my invoice", "download the invoice for march"),
    ("password", "Resetting a password", "forgot my password and cannot log in"),
    ("delivery", "Tracking a delivery", "where is my parcel with the courier"),
    ("esim", "Activating an eSIM", "scan the qr code to turn on the esim"),
    ("roaming", "Roaming abroad", "using the phone on holiday in another country"),
    ("contract", "Ending the contract", "terminate the agreement and close the account"),
    ("speed", "Slow internet speed", "pages load slowly in the evening"),
    ("bonus", "Bonus points", "spend the loyalty points on a discount"),
]
DOCS = [
    ArticleDoc(id=key, language="en", title=title, body=f"{title}. {text}.", questions=(text,))
    for key, title, text in TOPICS
]
QUERIES = ["I want my money back", "router restarts", "cheaper plan", "lost my password", "esim"]


def test_segments_rank_as_one_index() -> None:
    whole = SearchIndex.build(DOCS, config=IndexConfig(classifier="never"))
    parts = SearchIndex.build(DOCS, config=IndexConfig(classifier="never", segment_articles=3))
    assert len(whole.segments) == 1 and len(parts.segments) == 4
    for query in QUERIES:
        a, b = match(whole, query), match(parts, query)
        assert [c.article_id for c in a.candidates] == [c.article_id for c in b.candidates]
        assert [c.score for c in a.candidates] == pytest.approx([c.score for c in b.candidates])
        assert a.confidence == pytest.approx(b.confidence, abs=1e-3)


def test_a_query_adds_up_its_rarest_postings_first() -> None:
    index = SearchIndex.build(DOCS, config=IndexConfig(classifier="never"))
    vector = index.vectorize(index.normalizer.normalize("where is my parcel, courier?"))
    matrices = [segment.phrasings for segment in index.segments]
    everything = _similarities(vector, matrices, max_postings=10**9)
    assert np.allclose(everything, (vector.to_csr() @ matrices[0]).toarray().ravel(), atol=1e-6)

    lengths = np.diff(matrices[0].indptr)[vector.indices]
    rarest = np.sort(np.argsort(lengths, kind="stable")[:MIN_QUERY_FEATURES])
    budgeted = _similarities(vector, matrices, max_postings=1)
    expected = matrices[0][vector.indices[rarest]].T @ vector.data[rarest]
    assert np.allclose(budgeted, expected, atol=1e-6)
    assert not np.allclose(budgeted, everything)  # the budget did leave features out


@pytest.mark.parametrize("seed", range(20))
def test_postings_read_in_place_add_up_to_the_product(seed: int) -> None:
    """Features next to each other, far apart, without postings, one, none: each feature's
    postings counted once, the ranges between them never."""
    rng = np.random.default_rng(seed)
    matrix = sp.random(40, 30, density=0.2, format="csr", dtype=np.float32, random_state=seed)
    kept = np.ones(40, dtype=np.float32)
    kept[rng.integers(40, size=5)] = 0.0  # features no row has
    matrix = sp.csr_matrix(sp.diags(kept) @ matrix)
    matrix.eliminate_zeros()
    features = np.sort(rng.choice(40, size=rng.integers(0, 12), replace=False)).astype(np.int32)
    weights = rng.random(len(features)).astype(np.float32)
    got = _postings_sum(matrix, features, weights)
    assert got.shape == (30,)
    np.testing.assert_allclose(got, matrix[features].T @ weights, rtol=1e-5, atol=1e-6)


def test_a_tight_budget_still_finds_an_article_by_its_own_words() -> None:
    index = SearchIndex.build(DOCS, config=IndexConfig(classifier="never", max_postings=20))
    top = match(index, "track the courier with my parcel").top
    assert top is not None and top.article_id == "delivery"


def test_a_patch_appends_a_segment_and_retires_the_old_rows() -> None:
    full = SearchIndex.build(DOCS, config=IndexConfig(classifier="never", segment_articles=4))
    moved = dataclasses.replace(
        DOCS[1], title="Parking for visitors", questions=("car park",), body="In the yard."
    )
    docs = [moved, *DOCS[2:]]  # "refund" removed, "router" rewritten
    patched = full.with_changes(docs, synonyms={}, version=2)
    assert patched is not None and patched.patched
    assert len(patched.segments) == len(full.segments) + 1
    assert len(patched) == len(docs) and {d.id for d in patched.docs} == {d.id for d in docs}
    assert patched.doc("router") == moved
    top = match(patched, "visitors car park").top
    assert top is not None and top.article_id == "router"
    assert all(c.article_id != "refund" for c in match(patched, "money back").candidates)
    assert "rebooting" not in patched.word_counts  # the old router article's words are gone
    again = patched.with_changes(DOCS, synonyms={}, version=3)  # and back
    assert again is not None and len(again) == len(DOCS)
    top = match(again, "router keeps rebooting").top
    assert top is not None and top.article_id == "router"
