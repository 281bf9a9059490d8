"""The sentiment rules read phrases whatever their case: the patterns are matched against the
lower-cased text (app/handoff/sentiment.py), so a shouted or capitalised phrase counts alike."""

from hypothesis import given
from hypothesis import strategies as st

from app.handoff.sentiment import assess

ANGRY = ["вы издеваетесь", "это безобразие", "верните мои деньги", "this is ridiculous", "scam"]
LONG_WAIT = ["третий день нет интернета", "уже неделю жду", "third day without internet"]


def _recased(text: str, flips: list[bool]) -> str:
    return "".join(c.upper() if flip else c for c, flip in zip(text, flips, strict=False))


@given(st.sampled_from(ANGRY), st.lists(st.booleans(), min_size=40, max_size=40))
def test_an_angry_phrase_counts_in_any_case(phrase: str, flips: list[bool]) -> None:
    assert "angry_phrase" in assess(_recased(phrase, flips)).signals


@given(st.sampled_from(LONG_WAIT), st.lists(st.booleans(), min_size=40, max_size=40))
def test_a_long_wait_counts_in_any_case(phrase: str, flips: list[bool]) -> None:
    assert "long_wait" in assess(_recased(phrase, flips)).signals


def test_capital_yo_reads_as_ye() -> None:
    assert "angry_phrase" in assess("ВЫ ИЗДЕВАЁТЕСЬ").signals


def test_caps_counts_only_a_mostly_upper_case_message() -> None:
    assert "caps" in assess("ПОЧЕМУ НЕ РАБОТАЕТ").signals
    assert "caps" not in assess("Почему не работает").signals
    assert "caps" not in assess("NO WAY").signals  # fewer than 8 letters
    assert "caps" not in assess("почему не работает").signals
