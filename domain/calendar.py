"""Business time (SPEC 4): Mon-Fri 08:00-17:00 local, South African public holidays excluded."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Protocol
from zoneinfo import ZoneInfo

import holidays

from domain.enums import Calendar

_MINUTE = timedelta(minutes=1)


class Clockwork(Protocol):
    """What an SLA timer needs from a calendar."""

    def add_business_minutes(self, start: datetime, minutes: float) -> datetime: ...
    def business_minutes_between(self, a: datetime, b: datetime) -> float: ...
    def is_business_time(self, dt: datetime) -> bool: ...


@lru_cache(maxsize=64)
def _holidays(country: str, year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays(country, years=year).keys())


class BusinessCalendar:
    def __init__(
        self,
        tz: str | ZoneInfo = "Africa/Johannesburg",
        day_start: time = time(8, 0),
        day_end: time = time(17, 0),
        country: str = "ZA",
    ) -> None:
        self.tz = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)
        self.day_start = day_start
        self.day_end = day_end
        self.country = country

    def is_working_day(self, day: date) -> bool:
        return day.weekday() < 5 and day not in _holidays(self.country, day.year)

    def _window(self, day: date) -> tuple[datetime, datetime]:
        """The day's business hours as UTC instants (correct across DST where there is one)."""
        start = datetime.combine(day, self.day_start, self.tz).astimezone(UTC)
        end = datetime.combine(day, self.day_end, self.tz).astimezone(UTC)
        return start, end

    def is_business_time(self, dt: datetime) -> bool:
        local = dt.astimezone(self.tz)
        if not self.is_working_day(local.date()):
            return False
        start, end = self._window(local.date())
        return start <= dt.astimezone(UTC) < end

    def add_business_minutes(self, start: datetime, minutes: float) -> datetime:
        cursor = start.astimezone(UTC)
        if minutes <= 0:
            return cursor
        remaining = timedelta(minutes=minutes)
        day = cursor.astimezone(self.tz).date()
        while True:
            if self.is_working_day(day):
                open_, close = self._window(day)
                begin = max(cursor, open_)
                if begin < close:
                    available = close - begin
                    if remaining <= available:
                        return begin + remaining
                    remaining -= available
            day += timedelta(days=1)

    def business_minutes_between(self, a: datetime, b: datetime) -> float:
        a, b = a.astimezone(UTC), b.astimezone(UTC)
        if b <= a:
            return 0.0
        total = timedelta()
        day = a.astimezone(self.tz).date()
        last = b.astimezone(self.tz).date()
        while day <= last:
            if self.is_working_day(day):
                open_, close = self._window(day)
                lo, hi = max(a, open_), min(b, close)
                if hi > lo:
                    total += hi - lo
            day += timedelta(days=1)
        return total / _MINUTE


class AlwaysCalendar:
    """24x7: every minute counts."""

    def is_business_time(self, dt: datetime) -> bool:
        return True

    def add_business_minutes(self, start: datetime, minutes: float) -> datetime:
        return start.astimezone(UTC) + timedelta(minutes=max(0.0, minutes))

    def business_minutes_between(self, a: datetime, b: datetime) -> float:
        return max(0.0, (b - a) / _MINUTE)


ALWAYS = AlwaysCalendar()


def calendar_for(kind: Calendar, business: BusinessCalendar) -> Clockwork:
    return business if Calendar(kind) is Calendar.BUSINESS else ALWAYS
