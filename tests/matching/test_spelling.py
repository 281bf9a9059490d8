"""The letter-pair filter must find what comparing the typo with every word finds."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from rapidfuzz import fuzz, process

from app.matching.normalize import Normalizer
from app.matching.spelling import TypoIndex, is_cyrillic

VOCABULARY = (
    "интернет роутер тариф оплата баланс пароль договор возврат деньги карта абонент "
    "подключение отключение скорость модем internet router tariff payment balance password "
    "contract refund money card subscriber connection speed modem invoice delivery parcel"
).split()
INDEX = TypoIndex(VOCABULARY)


def brute_force(word: str, cutoff: float) -> tuple[str, float] | None:
    choices = [
        w
        for w in INDEX.words
        if abs(len(w) - len(word)) <= 2 and is_cyrillic(w[0]) == is_cyrillic(word[0])
    ]
    hit = process.extractOne(word, choices, scorer=fuzz.ratio, score_cutoff=cutoff)
    return (hit[0], hit[1]) if hit else None


@st.composite
def typos(draw: st.DrawFn) -> str:
    word = list(draw(st.sampled_from(VOCABULARY)))
    letters = "абвгдеиклмнопрстуaeioubcdmnprst"
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(0, len(word) - 1))
        edit = draw(st.sampled_from(["delete", "insert", "replace", "swap"]))
        if edit == "delete" and len(word) > 2:
            del word[at]
        elif edit == "insert":
            word.insert(at, draw(st.sampled_from(letters)))
        elif edit == "replace":
            word[at] = draw(st.sampled_from(letters))
        elif at + 1 < len(word):
            word[at], word[at + 1] = word[at + 1], word[at]
    return "".join(word)


@settings(max_examples=300, deadline=None)
@given(typos(), st.sampled_from([85.0, 88.0, 92.0]))
def test_closest_equals_comparing_with_every_word(word: str, cutoff: float) -> None:
    assert INDEX.closest(word, cutoff) == brute_force(word, cutoff)


def test_a_typo_is_corrected_to_the_knowledge_base_word() -> None:
    normalizer = Normalizer(VOCABULARY)
    assert normalizer.normalize("не работает интрнет").words[-1] == "интернет"
    assert normalizer.normalize("forgot my pasword").words[-1] == "password"
