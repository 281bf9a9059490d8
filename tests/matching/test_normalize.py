"""Behaviour of message normalization: layouts, translit, typos, synonyms, and invariants."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.matching.normalize import (
    Normalized,
    Normalizer,
    detect_language,
    fold,
    layout_to_en,
    layout_to_ru,
    stem,
    translit_to_ru,
)

VOCABULARY = (
    "как оплатить интернет личного кабинета пароль тариф восстановить заказ доставка "
    "internet password reset account wi-fi роутер"
).split()
SYNONYMS = {"инет": "интернет", "ЛК": "личный кабинет", "pwd": "password", "вайфай": "wi-fi"}
LATIN_KEYS = "qwertyuiop[]asdfghjkl;'zxcvbnm,.`"
CYRILLIC = "абвгдежзийклмнопрстуфхцчшщъыьэюя"


@pytest.fixture(scope="module")
def empty() -> Normalizer:
    return Normalizer()


@pytest.fixture(scope="module")
def kb() -> Normalizer:
    return Normalizer(VOCABULARY, SYNONYMS)


def words(normalizer: Normalizer, text: str) -> tuple[str, ...]:
    return normalizer.normalize(text).words


def test_fold_handles_yo_caps_and_compatibility_forms() -> None:
    assert fold("ЁЛКА Ёж ёжик") == "елка еж ежик"
    assert fold("Ｗｉ‑Ｆｉ") == fold("wi‑fi")
    assert fold("е\u0308") == "е"


def test_layout_maps_punctuation_keys_and_shift() -> None:
    assert layout_to_ru("ghbdtn") == "привет"
    assert layout_to_ru("ns;t") == "тыже"
    assert layout_to_ru('{}:"<>~') == "ХЪЖЭБЮЁ"
    assert layout_to_ru("123 !?") == "123 !?"
    assert layout_to_en("руддщ") == "hello"


@pytest.mark.parametrize(
    ("latin", "russian"),
    [
        ("shchuka", "щука"),
        ("zhizn'", "жизнь"),
        ("khorosho", "хорошо"),
        ("novyy", "новый"),
        ("moy", "мой"),
        ("yabloko", "яблоко"),
        ("tsena", "цена"),
        ("xerox", "ксерокс"),
        ("cena", "цена"),
        ("kak", "как"),
        ("zabyl", "забыл"),
        ("novye", "новые"),
    ],
)
def test_translit(latin: str, russian: str) -> None:
    assert translit_to_ru(latin) == russian


def test_detect_language() -> None:
    assert detect_language("привет") == "ru"
    assert detect_language("hello") == "en"
    assert detect_language("!!! 123") is None


def test_stem_uses_the_script_of_the_word() -> None:
    assert stem("оплатить") == stem("оплатит")
    assert stem("passwords") == stem("password")
    assert stem("2024") == "2024"


@pytest.mark.parametrize("fixture", ["empty", "kb"])
def test_wrong_layout_russian(fixture: str, request: pytest.FixtureRequest) -> None:
    normalizer: Normalizer = request.getfixturevalue(fixture)
    assert words(normalizer, "ghbdtn") == ("привет",)
    assert words(normalizer, "rfr jgkfnbnm") == ("как", "оплатить")
    assert words(normalizer, "'nj yt hf,jnftn") == ("это", "не", "работает")
    assert words(normalizer, "ns;t") == ("тыже",)
    assert words(normalizer, "gjvjubnt, gj;fkeqcnf!") == ("помогите", "пожалуйста")
    result = normalizer.normalize("Ghbdtn, rfr jgkfnbnm?")
    assert result.language == "ru"
    assert ("ghbdtn,", "привет") in result.conversions


def test_wrong_layout_english(empty: Normalizer) -> None:
    assert words(empty, "руддщ") == ("hello",)
    assert words(empty, "руддщ цщкдв") == ("hello", "world")
    assert empty.normalize("руддщ").language == "en"


def test_translit_with_and_without_vocabulary(empty: Normalizer, kb: Normalizer) -> None:
    small = Normalizer(["как", "оплатить", "интернет"])
    assert words(small, "kak oplatit internet") == ("как", "оплатить", "интернет")
    # Both spellings are known: the message is translit, so the Russian one wins.
    assert words(kb, "kak oplatit internet") == ("как", "оплатить", "интернет")
    assert words(kb, "internet ne rabotaet") == ("интернет", "не", "работает")
    assert words(kb, "internet is slow") == ("internet", "is", "slow")
    assert words(empty, "zabyl parol") == ("забыл", "пароль")
    assert words(empty, "kak oplatit")[0] == "как"
    assert words(kb, "tarif") == ("тариф",)


def test_ordinary_text_is_not_converted(empty: Normalizer, kb: Normalizer) -> None:
    for normalizer in (empty, kb):
        english = normalizer.normalize("How do I reset my password?")
        assert english.words == ("how", "do", "i", "reset", "my", "password")
        assert english.conversions == ()
        assert english.language == "en"
        russian = normalizer.normalize("Как оплатить заказ картой? Спасибо")
        assert russian.words == ("как", "оплатить", "заказ", "картой", "спасибо")
        assert russian.conversions == ()


def test_english_words_stay_even_when_their_translit_is_known() -> None:
    normalizer = Normalizer(["старт", "роутер", "сброс"])
    result = normalizer.normalize("I want to start from scratch")
    assert result.words == ("i", "want", "to", "start", "from", "scratch")
    assert words(normalizer, "start") == ("старт",)  # a lone word has no English context


def test_brands_and_tech_words_stay_english(empty: Normalizer) -> None:
    assert words(empty, "wi-fi") == words(empty, "Wi‑Fi") == ("wi", "fi")
    assert words(empty, "e-mail iphone tv") == ("e", "mail", "iphone", "tv")
    assert words(empty, "ghbdtn yt hf,jnftn iphone") == ("привет", "не", "работает", "iphone")
    assert words(empty, "plan b") == ("plan", "b")


def test_yo_emoji_punctuation_and_digits(empty: Normalizer) -> None:
    assert words(empty, "Ёлка") == words(empty, "елка") == ("елка",)
    assert words(empty, "ПОМОГИТЕ!!! 😡😡") == ("помогите",)
    assert words(empty, "заказ №12345, 3 шт.") == ("заказ", "12345", "3", "шт")
    assert words(empty, "!!!") == ()
    assert empty.normalize("!!! 123").language is None


def test_urls_and_emails_are_not_converted(empty: Normalizer) -> None:
    assert words(empty, "user@mail.ru") == ("user", "mail", "ru")
    assert words(empty, "https://example.com/help") == ("https", "example", "com", "help")


def test_typos_are_corrected_against_the_vocabulary(kb: Normalizer, empty: Normalizer) -> None:
    result = kb.normalize("не могу зайти в лчного кабинета")
    assert result.words[-2:] == ("личного", "кабинета")
    assert ("лчного", "личного") in result.conversions
    assert words(kb, "internt pasword") == ("internet", "password")
    assert words(kb, "пароль") == ("пароль",)
    assert words(empty, "лчного") == ("лчного",)
    # Real words that merely resemble a vocabulary word are left alone.
    other = Normalizer(["минут", "задайте", "быстрее"])
    assert words(other, "минус дайте побыстрее") == ("минус", "дайте", "побыстрее")


def test_synonyms_expand_and_are_recorded(kb: Normalizer) -> None:
    assert words(kb, "инет") == ("интернет",)
    result = kb.normalize("ЛК не открывается")
    assert result.words[:2] == ("личный", "кабинет")
    assert ("лк", "личный кабинет") in result.conversions
    assert words(kb, "pwd") == ("password",)
    assert words(kb, "вайфай") == ("wi", "fi")
    assert words(kb, "kr") == ("личный", "кабинет")  # лк typed on the wrong layout


def test_vocabulary_is_folded_and_includes_synonym_targets(kb: Normalizer) -> None:
    assert {"личный", "кабинет", "password", "wi", "fi"} <= kb.vocabulary
    assert Normalizer(["Ёлка"]).vocabulary == frozenset({"елка"})
    assert Normalizer(["инет"], {"Инет": "интернет"}).vocabulary == frozenset({"интернет"})
    other = kb.with_vocabulary(["тариф"])
    assert "тариф" in other.vocabulary and "пароль" not in other.vocabulary
    assert words(other, "инет") == ("интернет",)


def test_stems_follow_words(kb: Normalizer) -> None:
    result = kb.normalize("оплатить interneta passwords")
    assert len(result.stems) == len(result.words)
    assert result.stems[0] == stem("оплатить")
    assert isinstance(result, Normalized)


@given(st.text(alphabet=LATIN_KEYS))
def test_layout_round_trip_from_latin(text: str) -> None:
    assert layout_to_en(layout_to_ru(text)) == text


@given(st.text(alphabet=CYRILLIC))
def test_layout_round_trip_from_cyrillic(text: str) -> None:
    assert layout_to_ru(layout_to_en(text)) == text


@given(st.text())
def test_fold_is_idempotent(text: str) -> None:
    assert fold(fold(text)) == fold(text)


MESSAGE_ALPHABET = st.sampled_from(list(LATIN_KEYS + CYRILLIC + " -!?.,'\"0123456789ё😀"))
MESSAGES = st.one_of(st.text(), st.text(alphabet=MESSAGE_ALPHABET))


@settings(max_examples=300, deadline=None)
@given(MESSAGES)
def test_normalize_is_idempotent(text: str) -> None:
    for normalizer in (Normalizer(), Normalizer(VOCABULARY, SYNONYMS)):
        first = normalizer.normalize(text)
        assert normalizer.normalize(first.text).words == first.words
        assert first.text == " ".join(first.words)


LONG_MESSAGES = st.text(MESSAGE_ALPHABET, min_size=1, max_size=200).map(
    lambda s: (s * (10_000 // len(s) + 1))[:10_000]
)


@settings(max_examples=30, deadline=None)
@given(st.text(max_size=10_000) | LONG_MESSAGES)
def test_normalize_never_raises(text: str) -> None:
    result = Normalizer(VOCABULARY, SYNONYMS).normalize(text)
    assert len(result.words) == len(result.stems)


# Letters whose romanizations read back one way only (с, ц, ш, щ, х, и, ы, й, е, ь clash in
# some pairs: "ts" is ц or тс, "shch" is щ or шч, "ia" is я or иа, "y" is ы or й).
ROMAN = dict(
    zip(
        "абвгджзклмнопртуфчюя",
        "a b v g d zh z k l m n o p r t u f ch yu ya".split(),
        strict=True,
    )
)


@given(st.text(alphabet="".join(ROMAN), min_size=1, max_size=20))
def test_translit_round_trip(word: str) -> None:
    assert translit_to_ru("".join(ROMAN[ch] for ch in word)) == word
