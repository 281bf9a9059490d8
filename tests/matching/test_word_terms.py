"""WordTerms numbers word pairs instead of naming them; it must weigh them exactly as a
TfidfVectorizer over the named features does."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.feature_extraction.text import TfidfVectorizer

from app.matching.features import STOPWORDS, WordTerms, word_features
from app.matching.normalize import Normalized, Normalizer

WORDS = "как оплатить картой интернет роутер the card pay how to reset password my".split()
NORMALIZER = Normalizer(WORDS)

texts_strategy = st.lists(
    st.lists(st.sampled_from(WORDS), max_size=8).map(" ".join), min_size=1, max_size=12
)


def _identity(features: list[str]) -> list[str]:
    return features


def _by_name(matrix: np.ndarray, names: list[str]) -> list[dict[str, float]]:
    return [{names[c]: float(v) for c, v in enumerate(row) if v} for row in matrix]


def _assert_same_weights(got: dict[str, float], expected: dict[str, float]) -> None:
    assert got.keys() == expected.keys()
    assert got == pytest.approx(expected, abs=1e-6)  # float32 against float64


@settings(max_examples=80, deadline=None)
@given(texts_strategy, st.booleans())
def test_same_weights_as_a_vectorizer_over_named_features(
    raw: list[str], drop_stopwords: bool
) -> None:
    texts = [NORMALIZER.normalize_document(t) for t in raw]
    stopwords = STOPWORDS if drop_stopwords else frozenset()
    named = [word_features(t, stopwords) for t in texts]
    if not any(named):
        return  # a vectorizer refuses an empty vocabulary
    reference = TfidfVectorizer(analyzer=_identity, sublinear_tf=True).fit(named)
    terms = WordTerms.fit(texts, stopwords=stopwords)
    assert sorted(terms.feature_names()) == sorted(reference.vocabulary_)
    queries = [*texts, NORMALIZER.normalize("how to pay картой my password")]
    expected = _by_name(
        reference.transform([word_features(q, stopwords) for q in queries]).toarray(),
        list(reference.get_feature_names_out()),
    )
    got = _by_name(terms.transform(queries).toarray(), terms.feature_names())
    for got_row, expected_row in zip(got, expected, strict=True):
        _assert_same_weights(got_row, expected_row)
    names = terms.feature_names()
    for query, row in zip(queries, expected, strict=True):
        columns, values = terms.transform_one(query)
        _assert_same_weights(
            {names[c]: float(v) for c, v in zip(columns, values, strict=True)}, row
        )


@settings(max_examples=60, deadline=None)
@given(texts_strategy, st.data())
def test_documents_count_their_texts_once(raw: list[str], data: st.DataObject) -> None:
    """Grouped texts weigh as one document holding all their features."""
    texts = [NORMALIZER.normalize_document(t) for t in raw]
    documents = np.array(
        data.draw(st.lists(st.integers(0, 3), min_size=len(texts), max_size=len(texts)))
    )
    groups = [
        [f for t, d in zip(texts, documents, strict=True) if d == g for f in word_features(t)]
        for g in np.unique(documents)
    ]
    if not any(groups):
        return
    reference = TfidfVectorizer(analyzer=_identity, sublinear_tf=True).fit(groups)
    terms = WordTerms.fit(texts, stopwords=frozenset(), documents=documents)
    idf = dict(zip(terms.feature_names(), terms.idf.tolist(), strict=True))
    assert idf == pytest.approx(
        {name: reference.idf_[column] for name, column in reference.vocabulary_.items()}
    )


def test_unknown_words_and_empty_texts_have_no_features() -> None:
    terms = WordTerms.fit([NORMALIZER.normalize_document("pay card")], stopwords=frozenset())
    empty = Normalized(text="", words=(), stems=(), language=None, conversions=())
    unknown = NORMALIZER.normalize("zebra")
    assert terms.transform([empty, unknown]).nnz == 0
    columns, values = terms.transform_one(unknown)
    assert len(columns) == len(values) == 0


def test_fits_on_nothing() -> None:
    terms = WordTerms.fit([], stopwords=frozenset())
    assert terms.width == 0
    assert terms.transform([NORMALIZER.normalize("pay")]).shape == (1, 0)
