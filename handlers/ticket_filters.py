"""The ticket list's filters (SPEC 8), read alike by the REST list, the REST export and the CLI
export, so that an export holds exactly what the list shows."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from domain.enums import Priority, Status, TimerState, parse_priority
from domain.errors import InvalidInput
from domain.model import User
from domain.permissions import visibility
from domain.ports import TicketQuery, UnitOfWork
from domain.refs import normalise_dr
from domain.services.people import find_person

NAMES = ("status", "priority", "assignee", "contractor", "project", "zone", "dr", "pole", "pon",
         "sla", "q")
SLA_STATES = (TimerState.ON_TRACK, TimerState.NEAR_BREACH, TimerState.BREACHED)

Params = Mapping[str, Sequence[str]]  # each name with its values, as given (repeats allowed)


def _first(params: Params, name: str) -> str | None:
    values = [v for v in params.get(name, ()) if v is not None and v.strip()]
    return values[0].strip() if values else None


def _enums(params: Params, name: str, allowed: Sequence[Any],
           parse: Callable[[str], Any]) -> list[Any]:
    found = []
    for raw in params.get(name, ()):
        for part in (raw or "").split(","):
            if not part.strip():
                continue
            value = parse(part.strip())
            if value is None or value not in allowed:
                choices = ", ".join(str(a.value) for a in allowed)
                raise InvalidInput(f"'{part.strip()}' is not a valid {name}; use {choices}.",
                                   details={"parameter": name})
            found.append(value)
    return found


def _member(enum: Any) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        try:
            return enum(text.lower())
        except ValueError:
            return None
    return parse


def parse(params: Params) -> TicketQuery:
    """The query of everything that needs no database; people and projects come in resolve()."""
    dr = _first(params, "dr")
    return TicketQuery(
        status=_enums(params, "status", list(Status), _member(Status)),
        priority=_enums(params, "priority", list(Priority), parse_priority),
        sla=_enums(params, "sla", SLA_STATES, _member(TimerState)),
        zone=_first(params, "zone"),
        dr=(normalise_dr(dr) or dr) if dr else None,
        pole=_first(params, "pole"),
        pon=_first(params, "pon"),
        text=_first(params, "q"),
    )


async def resolve(uow: UnitOfWork, query: TicketQuery, params: Params, user: User | None
                  ) -> TicketQuery:
    """Names of people, contractors and projects as ids, and what `user` may see. An unknown
    contractor or project matches nothing; an unknown person is a 404."""
    if (assignee := _first(params, "assignee")) is not None:
        if assignee.lower() == "none":
            query.unassigned = True
        else:
            query.assignee_id = (await find_person(uow, assignee)).id
    if (name := _first(params, "contractor")) is not None:
        contractor = await uow.users.contractor(name)
        query.contractor_id = contractor.id if contractor else -1
    if (name := _first(params, "project")) is not None:
        project = await uow.projects.by_name(name)
        query.project_id = project.id if project else -1
    if user is not None:
        query.visible_to = visibility(user)
    return query
