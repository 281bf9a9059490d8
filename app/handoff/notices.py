"""What the customer is told about the queue, in their language."""

from datetime import datetime
from math import ceil

from app.handoff.hours import BusinessHours

_TEXTS = {
    "negative_sentiment": {
        "ru": "Извините, что так вышло. Сразу передаю разговор оператору, он ответит здесь же.",
        "en": "I'm sorry about this. I'm passing the conversation to a person on our team "
        "right away; they will reply here.",
    },
    "repeated_failure": {
        "ru": "Похоже, я не могу помочь с этим вопросом. Передаю разговор оператору, "
        "он ответит здесь же.",
        "en": "It looks like I'm not helping with this one. I'm passing the conversation to a "
        "person on our team; they will reply here.",
    },
    "customer_button": {
        "ru": "Передаю разговор оператору. Он ответит здесь же.",
        "en": "I'm passing the conversation to a person on our team. They will reply here.",
    },
    "meanwhile": {"ru": "А пока, возможно, это поможет:", "en": "Meanwhile, this may help:"},
    "queue": {
        "ru": "Вы {position}-й в очереди, ожидание — около {minutes} мин.",
        "en": "You are number {position} in the queue; the expected wait is about {minutes} min.",
    },
    "offline": {
        "ru": "Сейчас операторы не работают. Вам ответят {when} ({zone}).",
        "en": "Our team is offline right now. A person will answer {when} ({zone}).",
    },
}
_WEEKDAYS = {
    "ru": (
        "в понедельник",
        "во вторник",
        "в среду",
        "в четверг",
        "в пятницу",
        "в субботу",
        "в воскресенье",
    ),
    "en": (
        "on Monday",
        "on Tuesday",
        "on Wednesday",
        "on Thursday",
        "on Friday",
        "on Saturday",
        "on Sunday",
    ),
}


def text(key: str, language: str | None) -> str:
    texts = _TEXTS[key]
    return texts.get(language or "en", texts["en"])


def _when(opening: datetime, now: datetime, language: str) -> str:
    local_now = now.astimezone(opening.tzinfo)
    clock = opening.strftime("%H:%M")
    days = (opening.date() - local_now.date()).days
    if language == "ru":
        day = "сегодня" if days == 0 else "завтра" if days == 1 else None
        return f"{day or _WEEKDAYS['ru'][opening.weekday()]} после {clock}"
    day = "today" if days == 0 else "tomorrow" if days == 1 else None
    return f"{day or _WEEKDAYS['en'][opening.weekday()]} after {clock}"


def queue_notice(
    *,
    position: int,
    minutes_per_customer: float,
    hours: BusinessHours,
    now: datetime,
    language: str | None,
) -> str:
    language = language if language in ("ru", "en") else "en"
    if not hours.is_open(now):
        opening = hours.next_opening(now)
        return text("offline", language).format(
            when=_when(opening, now, language), zone=str(hours.zone)
        )
    minutes = max(1, ceil(position * minutes_per_customer))
    return text("queue", language).format(position=position, minutes=minutes)
