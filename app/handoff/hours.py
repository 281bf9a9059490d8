"""Business hours: when people are at work, and when the next shift starts.

The schedule is one setting, e.g. "mon-fri 09:00-18:00; sat 10:00-14:00", read in the
`business_timezone`. An empty schedule means someone is always there.
"""

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_PART = re.compile(
    r"^(?P<first>[a-z]{3})(?:-(?P<last>[a-z]{3}))?\s+"
    r"(?P<start>\d{1,2}:\d{2})\s*-\s*(?P<end>\d{1,2}:\d{2})$"
)


@dataclass(frozen=True, slots=True)
class Shift:
    weekday: int  # 0 = Monday
    start: int  # minutes after midnight
    end: int  # minutes after midnight, up to 24:00


def _minutes(value: str) -> int:
    hours, minutes = (int(x) for x in value.split(":"))
    if minutes > 59 or hours > 24 or (hours == 24 and minutes):
        raise ValueError(f"bad time {value!r}")
    return hours * 60 + minutes


def parse_business_hours(spec: str) -> tuple[Shift, ...]:
    shifts: list[Shift] = []
    for raw in spec.lower().replace(",", ";").split(";"):
        part = " ".join(raw.split())
        if not part:
            continue
        found = _PART.match(part)
        if not found or found["first"] not in DAYS or (found["last"] or "mon") not in DAYS:
            raise ValueError(f"cannot read business hours {part!r}; expected 'mon-fri 09:00-18:00'")
        first = DAYS.index(found["first"])
        last = DAYS.index(found["last"]) if found["last"] else first
        start, end = _minutes(found["start"]), _minutes(found["end"])
        if end <= start:
            raise ValueError(f"business hours {part!r} end before they start")
        day = first
        while True:
            shifts.append(Shift(day, start, end))
            if day == last:
                break
            day = (day + 1) % 7
    return tuple(shifts)


@dataclass(frozen=True, slots=True)
class BusinessHours:
    shifts: tuple[Shift, ...]
    zone: ZoneInfo

    @classmethod
    def from_settings(cls, spec: str, timezone: str) -> "BusinessHours":
        return cls(parse_business_hours(spec), ZoneInfo(timezone))

    @property
    def always_open(self) -> bool:
        return not self.shifts

    def is_open(self, now: datetime) -> bool:
        if self.always_open:
            return True
        local = now.astimezone(self.zone)
        minute = local.hour * 60 + local.minute
        return any(s.weekday == local.weekday() and s.start <= minute < s.end for s in self.shifts)

    def next_opening(self, now: datetime) -> datetime:
        """The local time people are next at work (now, if they are)."""
        local = now.astimezone(self.zone)
        if self.is_open(now):
            return local
        for offset in range(8):
            day = (local + timedelta(days=offset)).date()
            starts = sorted(s.start for s in self.shifts if s.weekday == day.weekday())
            for start in starts:
                opening = datetime.combine(day, time(start // 60, start % 60), tzinfo=self.zone)
                if opening > local:
                    return opening
        raise ValueError("business hours have no shifts")  # unreachable with a parsed schedule
