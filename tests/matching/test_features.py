"""The one-message fast path must give exactly the vector the fitted vectorizers give."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.matching.features import FeatureSpace
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
        got = space.transform_one(normalized)
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
