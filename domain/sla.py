"""The SLA clock (SPEC 4) as pure functions: due times, pauses, timer states, escalation times."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from domain.calendar import BusinessCalendar, Clockwork, calendar_for
from domain.enums import Calendar, Priority, Role, TimerState


@dataclass(frozen=True)
class SlaPolicy:
    priority: Priority
    response_minutes: int
    resolution_minutes: int
    calendar: Calendar
    escalation_chain: tuple[Role, ...]
    near_breach_ratio: float = 0.8

    def to_dict(self) -> dict[str, Any]:
        return {
            "priority": self.priority.value,
            "response_minutes": self.response_minutes,
            "resolution_minutes": self.resolution_minutes,
            "calendar": self.calendar.value,
            "escalation_chain": [r.value for r in self.escalation_chain],
            "near_breach_ratio": self.near_breach_ratio,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SlaPolicy:
        return cls(
            priority=Priority(data["priority"]),
            response_minutes=int(data["response_minutes"]),
            resolution_minutes=int(data["resolution_minutes"]),
            calendar=Calendar(data["calendar"]),
            escalation_chain=tuple(Role(r) for r in data["escalation_chain"]),
            near_breach_ratio=float(data.get("near_breach_ratio", 0.8)),
        )


_TOP = (Role.SUPERVISOR, Role.MANAGER, Role.ADMIN)
_TWO = (Role.SUPERVISOR, Role.MANAGER)
_DAY = 9 * 60  # a business day is nine business hours

DEFAULT_POLICIES: dict[Priority, SlaPolicy] = {
    Priority.CRITICAL: SlaPolicy(Priority.CRITICAL, 30, 6 * 60, Calendar.ALWAYS, _TOP),
    Priority.URGENT: SlaPolicy(Priority.URGENT, 60, 12 * 60, Calendar.ALWAYS, _TOP),
    Priority.HIGH: SlaPolicy(Priority.HIGH, 120, 24 * 60, Calendar.ALWAYS, _TWO),
    Priority.NORMAL: SlaPolicy(Priority.NORMAL, 8 * 60, 3 * _DAY, Calendar.BUSINESS, _TWO),
    Priority.LOW: SlaPolicy(Priority.LOW, _DAY, 7 * _DAY, Calendar.BUSINESS, _TWO),
}


@dataclass(frozen=True)
class Hold:
    """A period on hold; `ended_at` None means it is still on hold."""

    started_at: datetime
    ended_at: datetime | None


@dataclass(frozen=True)
class TimerView:
    kind: str  # "response" | "resolution"
    state: TimerState
    due_at: datetime | None
    near_breach_at: datetime | None
    span_minutes: int
    used_ratio: float
    met_at: datetime | None


def _closed_holds(holds: Sequence[Hold], start: datetime, now: datetime
                  ) -> list[tuple[datetime, datetime]]:
    """Holds as closed intervals clipped to [start, now]; an open hold ends at `now`."""
    out = []
    for h in sorted(holds, key=lambda h: h.started_at):
        lo = max(h.started_at, start)
        hi = h.ended_at if h.ended_at is not None else now
        if hi > lo:
            out.append((lo, hi))
    return out


def counted_minutes(cal: Clockwork, start: datetime, end: datetime, holds: Sequence[Hold],
                    now: datetime) -> float:
    """Countable minutes from start to end: the calendar's time, less time on hold."""
    if end <= start:
        return 0.0
    total = cal.business_minutes_between(start, end)
    for lo, hi in _closed_holds(holds, start, now):
        lo, hi = max(lo, start), min(hi, end)
        if hi > lo:
            total -= cal.business_minutes_between(lo, hi)
    return max(0.0, total)


def reach(cal: Clockwork, start: datetime, minutes: float, holds: Sequence[Hold],
          now: datetime) -> datetime:
    """The wall time at which countable time since `start` reaches `minutes`."""
    cursor, remaining = start, float(minutes)
    for lo, hi in _closed_holds(holds, start, now):
        if hi <= cursor:
            continue
        if lo > cursor:
            candidate = cal.add_business_minutes(cursor, remaining)
            if candidate <= lo:
                return candidate
            remaining -= cal.business_minutes_between(cursor, lo)
        cursor = max(cursor, hi)
    return cal.add_business_minutes(cursor, remaining)


def timer(
    kind: str,
    span_minutes: int,
    cal: Clockwork,
    started_at: datetime,
    holds: Sequence[Hold],
    met_at: datetime | None,
    now: datetime,
    near_breach_ratio: float = 0.8,
) -> TimerView:
    met = met_at is not None and met_at <= now
    end = met_at if met and met_at is not None else now
    used = counted_minutes(cal, started_at, end, holds, now)
    ratio = used / span_minutes if span_minutes else 1.0
    on_hold = any(h.ended_at is None and h.started_at <= now for h in holds)
    if met:
        state = TimerState.MET
    elif on_hold:
        state = TimerState.PAUSED
    elif ratio >= 1.0:
        state = TimerState.BREACHED
    elif ratio >= near_breach_ratio:
        state = TimerState.NEAR_BREACH
    else:
        state = TimerState.ON_TRACK
    return TimerView(
        kind=kind,
        state=state,
        due_at=reach(cal, started_at, span_minutes, holds, now),
        near_breach_at=reach(cal, started_at, span_minutes * near_breach_ratio, holds, now),
        span_minutes=span_minutes,
        used_ratio=ratio,
        met_at=met_at if met else None,
    )


def ticket_timers(
    policy: SlaPolicy,
    business: BusinessCalendar,
    started_at: datetime,
    holds: Sequence[Hold],
    response_met_at: datetime | None,
    resolution_met_at: datetime | None,
    now: datetime,
) -> dict[str, TimerView]:
    cal = calendar_for(policy.calendar, business)
    return {
        "response": timer("response", policy.response_minutes, cal, started_at, holds,
                          response_met_at, now, policy.near_breach_ratio),
        "resolution": timer("resolution", policy.resolution_minutes, cal, started_at, holds,
                            resolution_met_at, now, policy.near_breach_ratio),
    }


def _latest(holds: Sequence[Hold], started_at: datetime) -> datetime:
    """For due times stored on the ticket: an open hold counts as ending now (its start)."""
    ends = [h.ended_at or h.started_at for h in holds]
    return max([started_at, *ends])


def due_times(policy: SlaPolicy, business: BusinessCalendar, started_at: datetime,
              holds: Sequence[Hold]) -> tuple[datetime, datetime]:
    if not holds:
        return _due_without_holds(policy, business, started_at)
    cal = calendar_for(policy.calendar, business)
    now = _latest(holds, started_at)
    return (
        reach(cal, started_at, policy.response_minutes, holds, now),
        reach(cal, started_at, policy.resolution_minutes, holds, now),
    )


@lru_cache(maxsize=1024)
def _due_without_holds(policy: SlaPolicy, business: BusinessCalendar, started_at: datetime
                       ) -> tuple[datetime, datetime]:
    """Most clocks have never been on hold, and an import's thousands of tickets share a few
    starts (08:00 on the report's days): the same answer need not be worked out again."""
    cal = calendar_for(policy.calendar, business)
    return (reach(cal, started_at, policy.response_minutes, [], started_at),
            reach(cal, started_at, policy.resolution_minutes, [], started_at))
