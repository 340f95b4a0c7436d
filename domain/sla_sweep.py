"""What the SLA sweep must announce for one ticket (SPEC 4), as a pure function.

Milestones per timer: near breach (level 0) at 80 % of the span, breach (level 1) at the due
time, and escalation level k (k >= 2) one response-span later each, as far as the policy's
chain reaches. A milestone is announced once; a ticket found several milestones further on
(the sweep was down) gets one message for where it stands now, and the passed ones are
recorded as announced without a message of their own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from domain.calendar import BusinessCalendar, calendar_for
from domain.enums import TimerState
from domain.sla import Hold, SlaPolicy, reach, ticket_timers

NEAR_BREACH, BREACH, ESCALATION = "near_breach", "breach", "escalation"


@dataclass(frozen=True)
class Milestone:
    timer: str  # response | resolution
    kind: str  # near_breach | breach | escalation
    level: int  # 0 near breach, 1 breach, 2.. escalations
    at: datetime

    @property
    def key(self) -> tuple[str, str, int]:
        return (self.timer, self.kind, self.level)


@dataclass(frozen=True)
class SweepDecision:
    announce: list[Milestone]  # the latest passed milestone per timer: gets a message
    record: list[Milestone]  # every newly passed milestone: recorded as announced
    next_check_at: datetime | None


def milestones(policy: SlaPolicy, business: BusinessCalendar, started_at: datetime,
               holds: Sequence[Hold], timer: str, now: datetime) -> list[Milestone]:
    cal = calendar_for(policy.calendar, business)
    span = policy.response_minutes if timer == "response" else policy.resolution_minutes
    out = [
        Milestone(timer, NEAR_BREACH, 0,
                  reach(cal, started_at, span * policy.near_breach_ratio, holds, now)),
        Milestone(timer, BREACH, 1, reach(cal, started_at, span, holds, now)),
    ]
    for level in range(2, len(policy.escalation_chain) + 1):
        extra = policy.response_minutes * (level - 1)
        out.append(Milestone(timer, ESCALATION, level,
                             reach(cal, started_at, span + extra, holds, now)))
    return out


def decide(
    policy: SlaPolicy,
    business: BusinessCalendar,
    started_at: datetime,
    holds: Sequence[Hold],
    response_met_at: datetime | None,
    resolution_met_at: datetime | None,
    announced: set[tuple[str, str, int]],
    now: datetime,
) -> SweepDecision:
    views = ticket_timers(policy, business, started_at, holds, response_met_at,
                          resolution_met_at, now)
    announce: list[Milestone] = []
    record: list[Milestone] = []
    upcoming: list[datetime] = []
    for name, view in views.items():
        if view.state in (TimerState.MET, TimerState.PAUSED):
            continue  # a paused timer is looked at again when the hold ends
        stones = milestones(policy, business, started_at, holds, name, now)
        passed = [m for m in stones if m.at <= now and m.key not in announced]
        if passed:
            record.extend(passed)
            announce.append(passed[-1])
        upcoming.extend(m.at for m in stones if m.at > now and m.key not in announced)
    return SweepDecision(announce, record, min(upcoming) if upcoming else None)
