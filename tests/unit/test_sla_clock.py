"""The SLA clock on real dates in Johannesburg (expected values worked out by hand)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.calendar import BusinessCalendar
from domain.enums import Priority, TimerState
from domain.sla import (
    DEFAULT_POLICIES,
    Hold,
    SlaPolicy,
    due_times,
    ticket_timers,
    timer,
)
from domain.sla_sweep import milestones

JHB = ZoneInfo("Africa/Johannesburg")
CAL = BusinessCalendar("Africa/Johannesburg")


def at(y: int, mo: int, d: int, h: int, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=JHB)


@pytest.mark.parametrize(
    ("priority", "start", "response", "resolution"),
    [
        # Friday 16:00: 1 h on Friday, 7 h on Monday -> Mon 15:00. Resolution 27 h:
        # Fri 1 + Mon 9 + Tue 9 + Wed 8 -> Wed 16:00.
        (Priority.NORMAL, at(2026, 11, 20, 16), at(2026, 11, 23, 15), at(2026, 11, 25, 16)),
        # Friday before Freedom Day (Mon 27 April 2026): Monday does not count.
        (Priority.NORMAL, at(2026, 4, 24, 16), at(2026, 4, 28, 15), at(2026, 4, 30, 16)),
        # Christmas Eve 2026 is a Thursday; 25th (Fri) is a holiday, 26th a Saturday.
        # 24 Dec 10:00: 7 h on Thursday, 1 h on Monday 28th -> 28 Dec 09:00.
        (Priority.NORMAL, at(2026, 12, 24, 10), at(2026, 12, 28, 9), at(2026, 12, 30, 10)),
        # Saturday: the clock starts Monday 08:00. Low: 1 business day -> Mon 17:00.
        (Priority.LOW, at(2026, 11, 21, 11), at(2026, 11, 23, 17), at(2026, 12, 1, 17)),
        # Before opening (06:30) and after closing (19:00).
        (Priority.NORMAL, at(2026, 11, 17, 6, 30), at(2026, 11, 17, 16), at(2026, 11, 19, 17)),
        (Priority.NORMAL, at(2026, 11, 17, 19), at(2026, 11, 18, 16), at(2026, 11, 20, 17)),
        # 24x7 priorities ignore weekends and holidays.
        (Priority.CRITICAL, at(2026, 12, 25, 23, 50), at(2026, 12, 26, 0, 20),
         at(2026, 12, 26, 5, 50)),
        (Priority.HIGH, at(2026, 11, 21, 11), at(2026, 11, 21, 13), at(2026, 11, 22, 11)),
    ],
)
def test_due_times(priority: Priority, start: datetime, response: datetime,
                   resolution: datetime) -> None:
    got = due_times(DEFAULT_POLICIES[priority], CAL, start, [])
    assert got == (response, resolution)


def test_a_hold_across_a_night_on_a_24x7_ticket() -> None:
    start = at(2026, 11, 17, 20)
    holds = [Hold(at(2026, 11, 17, 21), at(2026, 11, 18, 7))]
    # 60 min before the hold, the other 300 from 07:00 -> 12:00.
    _, resolution = due_times(DEFAULT_POLICIES[Priority.CRITICAL], CAL, start, holds)
    assert resolution == at(2026, 11, 18, 12)


def test_a_hold_across_a_night_on_a_business_ticket() -> None:
    # Held 16:00 Tue to 10:00 Wed: only 16-17 Tue and 08-10 Wed were business time.
    start = at(2026, 11, 17, 8)
    holds = [Hold(at(2026, 11, 17, 16), at(2026, 11, 18, 10))]
    response, _ = due_times(DEFAULT_POLICIES[Priority.NORMAL], CAL, start, holds)
    # 8 h of business time: Tue 08-16 is exactly 8 h, reached as the hold starts.
    assert response == at(2026, 11, 17, 16)
    policy = SlaPolicy.from_dict({**DEFAULT_POLICIES[Priority.NORMAL].to_dict(),
                                  "response_minutes": 9 * 60})
    response, _ = due_times(policy, CAL, start, holds)
    # The ninth hour comes after the hold: Wed 10:00 + 1 h.
    assert response == at(2026, 11, 18, 11)


@pytest.mark.parametrize(
    ("minutes_in", "state"),
    [(10, TimerState.ON_TRACK), (24, TimerState.NEAR_BREACH), (30, TimerState.BREACHED),
     (95, TimerState.BREACHED)],
)
def test_timer_states(minutes_in: int, state: TimerState) -> None:
    start = at(2026, 11, 17, 9)
    view = timer("response", 30, _always(), start, [], None,
                 start + timedelta(minutes=minutes_in))
    assert view.state is state
    assert view.due_at == start + timedelta(minutes=30)
    assert view.near_breach_at == start + timedelta(minutes=24)


def _always():
    from domain.calendar import ALWAYS

    return ALWAYS


def test_met_and_paused() -> None:
    start = at(2026, 11, 17, 9)
    now = start + timedelta(hours=2)
    met = timer("response", 30, _always(), start, [], start + timedelta(minutes=5), now)
    assert met.state is TimerState.MET and met.used_ratio == pytest.approx(5 / 30)
    held = timer("resolution", 360, _always(), start,
                 [Hold(start + timedelta(minutes=30), None)], None, now)
    assert held.state is TimerState.PAUSED
    assert held.used_ratio == pytest.approx(30 / 360)
    # due time as if the hold ended now: 330 minutes from now
    assert held.due_at == now + timedelta(minutes=330)


def test_ticket_timers_for_a_weekend_business_ticket() -> None:
    start = at(2026, 11, 20, 16)
    views = ticket_timers(DEFAULT_POLICIES[Priority.NORMAL], CAL, start, [], None, None,
                          at(2026, 11, 22, 12))  # Sunday: only Friday's hour has counted
    assert views["response"].state is TimerState.ON_TRACK
    assert views["response"].used_ratio == pytest.approx(60 / 480)


def test_escalation_times_step_by_response_span() -> None:
    start = at(2026, 11, 17, 9)
    stones = milestones(DEFAULT_POLICIES[Priority.CRITICAL], CAL, start, [], "response", start)
    times = [m.at for m in stones if m.level >= 1]
    assert times == [start + timedelta(minutes=30 * k) for k in (1, 2, 3)]


def test_policy_round_trips_as_json() -> None:
    for policy in DEFAULT_POLICIES.values():
        assert SlaPolicy.from_dict(policy.to_dict()) == policy


@given(st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31),
                    timezones=st.just(JHB)),
       st.integers(min_value=1, max_value=20_000))
def test_adding_then_measuring_round_trips(start: datetime, minutes: int) -> None:
    end = CAL.add_business_minutes(start, minutes)
    assert CAL.business_minutes_between(start, end) == pytest.approx(minutes)
    assert CAL.add_business_minutes(start, minutes + 1) > end
