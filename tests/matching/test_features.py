"""The one-message fast path must give exactly the vector the fitted vectorizers give."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.matching.classifier import PhrasingClassifier
from app.matching.features import CharNgrams, FeatureSpace
from app.matching.normalize import Normalizer

KB_TEXTS = [
    "Как оплатить интернет банковской картой",
    "Не работает интернет, горит красная лампочка на роутере",
    "How do I reset my password",
    "Change your tariff in the personal account",
    "Вернуть деньги за неиспользованный месяц",
]


@pytest.fixture(scope="module")
def spaces() -> tuple[Normalizer, list[FeatureSpace]]:
    normalizer = Normalizer(" ".join(KB_TEXTS).split())
    texts = [normalizer.normalize_document(t) for t in KB_TEXTS]
    return normalizer, [
        FeatureSpace.fit(texts, char_weight=weight, drop_stopwords=drop)
        for weight, drop in ((1.0, False), (0.5, True))
    ]


@settings(max_examples=150, deadline=None)
@given(
    st.text(
        alphabet="абвгдеёжзийклмнопрстуфхцчшщъыьэюяabcdefghijklmnopqrstuvwxyz ,.!?", max_size=60
    )
)
def test_transform_one_equals_transform(
    spaces: tuple[Normalizer, list[FeatureSpace]], text: str
) -> None:
    normalizer, fitted = spaces
    normalized = normalizer.normalize(text)
    for space in fitted:
        expected = space.transform([normalized])
        got = space.transform_one(normalized).to_csr()
        assert got.shape == expected.shape
        assert np.array_equal(got.indices, expected.indices)
        np.testing.assert_allclose(got.toarray(), expected.toarray(), atol=1e-6)


def test_known_question_is_mostly_known_features(
    spaces: tuple[Normalizer, list[FeatureSpace]],
) -> None:
    normalizer, fitted = spaces
    vector = fitted[0].transform_one(normalizer.normalize("как оплатить картой"))
    assert vector.nnz > 10
    assert np.isclose(np.sqrt((vector.data**2).sum()), 1.0)


@pytest.mark.parametrize("max_features", [300_000, 40])  # 40: the fit keeps the most frequent
def test_a_build_looks_up_its_words_n_grams_and_gets_what_the_vectorizer_gives(
    max_features: int,
) -> None:
    texts = [t.lower() for t in KB_TEXTS] + ["интернет интернет картой", "reset the password"]
    char = CharNgrams.fit(texts, max_features=max_features)
    assert char.fitted is not None and char.width <= max_features
    built = char.transform(texts)
    plain = char.without_fitted()
    assert plain.fitted is None
    expected = plain.transform(texts)
    assert np.array_equal(built.indptr, expected.indptr)
    assert np.array_equal(built.indices, expected.indices)
    np.testing.assert_allclose(built.data, expected.data, rtol=1e-6)
    # a word the fit never saw: the vectorizer cuts it, as it would without the look-up
    unseen = char.transform(["интернетом сброс"]).toarray()
    np.testing.assert_allclose(unseen, plain.transform(["интернетом сброс"]).toarray(), rtol=1e-6)
    assert unseen.any()


def test_a_classifier_scores_a_message_as_the_sparse_product_does(
    spaces: tuple[Normalizer, list[FeatureSpace]],
) -> None:
    normalizer, fitted = spaces
    space = fitted[0]
    texts = [normalizer.normalize_document(t) for t in KB_TEXTS]
    classifier = PhrasingClassifier.fit(
        space.transform(texts), np.arange(len(texts)), articles=len(texts) + 1
    )
    for text in ("как оплатить картой", "reset password", "zzz"):
        vector = space.transform_one(normalizer.normalize(text))
        expected = (vector.to_csr() @ classifier.coef).ravel() + classifier.intercept
        np.testing.assert_allclose(classifier.margins(vector), expected, atol=1e-5)
    best = classifier.margins(space.transform_one(normalizer.normalize("reset my password")))
    assert int(np.argmax(best)) == 2  # the article of that phrasing, not the empty one
