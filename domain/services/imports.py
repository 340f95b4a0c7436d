"""Applying a weekly report (SPEC 7): upsert by ref, external ref, or the DR's one open ticket;
statuses only move forward, through the workflow's guards. Safe to run twice."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import uuid
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from domain import permissions
from domain.context import Actor, Context
from domain.enums import CLOSED_STATUSES, AuditAction, Priority, Source, Status, TicketType
from domain.errors import DomainError, NotFound
from domain.model import Ticket
from domain.permissions import Action
from domain.ports import UnitOfWork
from domain.services import tickets as ticket_service
from domain.services import work
from domain.services.audit import record
from domain.services.people import find_person
from domain.services.ticket_batches import create_many
from domain.services.tickets import NewTicket
from domain.weekly import ImportRow, RawRowLike, RowIssue, report_uid, validate_row
from domain.workflow import FORWARD_ORDER

log = logging.getLogger("ticketbot.imports")
_YIELD_EVERY = 50
CHUNK = 1000  # rows per transaction: big enough to batch well, small enough to show progress


@dataclass
class ImportSummary:
    uid: str
    report_uid: str = ""
    total: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowIssue] = field(default_factory=list)
    warnings: list[RowIssue] = field(default_factory=list)
    dry_run: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "uid": self.uid, "report_uid": self.report_uid, "dry_run": self.dry_run,
            "total_rows": self.total, "created": self.created, "updated": self.updated,
            "unchanged": self.unchanged, "error_count": len(self.errors),
            "warning_count": len(self.warnings),
            "errors": [e.to_json() for e in self.errors],
            "warnings": [w.to_json() for w in self.warnings],
        }


async def import_weekly(
    uow_factory: Callable[[], Any],
    ctx: Context,
    actor: Actor,
    rows: Iterable[RawRowLike] | AsyncIterable[RawRowLike],
    headers: dict[str, str],
    *,
    filename: str | None = None,
    dry_run: bool = False,
    progress: Callable[[int], None] | None = None,
) -> ImportSummary:
    summary = ImportSummary(uid=f"imp_{uuid.uuid4().hex[:16]}", dry_run=dry_run)
    ctx = Context(now=ctx.now, timezone=ctx.timezone, rx_range=ctx.rx_range,
                  channels=ctx.channels, import_uid=summary.uid)
    async with contextlib.AsyncExitStack() as stack:
        # A dry run is one transaction, rolled back when the stack closes.
        dry_run_uow = await stack.enter_async_context(uow_factory()) if dry_run else None
        dates = await _read_and_apply(uow_factory, ctx, actor, rows, headers, summary,
                                      dry_run_uow, progress)
    summary.report_uid = report_uid(dates, ctx.now.astimezone(ZoneInfo(ctx.timezone)).date())
    if not dry_run:
        async with uow_factory() as uow:
            await uow.imports.add_report(summary.to_json(), filename, actor.id, ctx.now)
            await uow.commit()
    return summary


async def _read_and_apply(uow_factory: Callable[[], Any], ctx: Context, actor: Actor,
                          rows: Iterable[RawRowLike] | AsyncIterable[RawRowLike],
                          headers: dict[str, str], summary: ImportSummary,
                          dry_run_uow: UnitOfWork | None,
                          progress: Callable[[int], None] | None) -> list[date]:
    dates: list[date] = []
    chunk: list[ImportRow] = []
    writing: asyncio.Future[None] | None = None  # the chunk being applied while we read on

    async def hand_over(rows: list[ImportRow]) -> None:
        nonlocal writing
        if writing is not None:
            await writing  # chunks apply in sheet order, one at a time
        writing = asyncio.ensure_future(
            _apply_chunk(uow_factory, ctx, actor, rows, summary, dry_run_uow))

    try:
        async for raw in _each(rows):
            summary.total += 1
            result = validate_row(raw, headers)
            if result.errors:
                summary.errors.extend(result.errors)
            elif result.row is not None:
                if result.row.date:
                    dates.append(result.row.date)
                chunk.append(result.row)
            if len(chunk) >= CHUNK:
                await hand_over(chunk)
                chunk = []
                if progress:
                    progress(summary.total)
            elif summary.total % _YIELD_EVERY == 0:
                # Reading the sheet is CPU work: between slices, the chunk before (waiting on
                # the database) and the server's other requests get their turn.
                await asyncio.sleep(0)
        if chunk:
            await hand_over(chunk)
    finally:
        if writing is not None:
            await writing  # what was read before a damaged row is still applied
    if progress:
        progress(summary.total)
    summary.errors.sort(key=lambda issue: issue.row_number)
    summary.warnings.sort(key=lambda issue: issue.row_number)
    return dates


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while a chunk is applied: a chunk makes tens of thousands
    of objects, and each collection would walk the whole (large) heap again. Memory stays
    bounded by the chunk; what it leaves behind is collected when it ends."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


async def _each(rows: Iterable[RawRowLike] | AsyncIterable[RawRowLike]
                ) -> AsyncIterator[RawRowLike]:
    if isinstance(rows, AsyncIterable):
        async for row in rows:
            yield row
    else:
        for row in rows:
            yield row


async def _apply_chunk(uow_factory: Callable[[], Any], ctx: Context, actor: Actor,
                       rows: list[ImportRow], summary: ImportSummary,
                       dry_run_uow: UnitOfWork | None) -> None:
    """Apply one chunk in its own transaction, or, for a dry run, under a savepoint of the
    run's one transaction (rolled back at the end), so later chunks see earlier ones."""
    async with contextlib.AsyncExitStack() as stack:
        uow = dry_run_uow or await stack.enter_async_context(uow_factory())
        try:
            savepoint = await uow.savepoint() if dry_run_uow else None
            with _gc_paused():
                outcomes = await _apply_batch(uow, ctx, actor, rows)
            await (savepoint.commit() if savepoint else uow.commit())
        except Exception:  # the storage failed the batch as a whole
            # Something no row check foresaw (a constraint, a dropped connection): the batch
            # is rolled back and its rows go again one by one, so one bad row costs only
            # itself.
            log.warning("import %s: batch of %d rows failed; applying them one by one",
                        summary.uid, len(rows), exc_info=True)
            await (savepoint.rollback() if savepoint else uow.rollback())
            outcomes = await _apply_one_by_one(uow, ctx, actor, rows)
            if not dry_run_uow:
                await uow.commit()
    for row, outcome in outcomes:
        if isinstance(outcome, RowIssue):
            summary.errors.append(outcome)
            continue
        summary.warnings.extend(row.warnings)
        setattr(summary, outcome, getattr(summary, outcome) + 1)


Outcome = tuple[ImportRow, "str | RowIssue"]


async def _apply_one_by_one(uow: UnitOfWork, ctx: Context, actor: Actor,
                            rows: list[ImportRow]) -> list[Outcome]:
    outcomes: list[Outcome] = []
    for row in rows:
        row.warnings.clear()
        savepoint = await uow.savepoint()
        try:
            outcome = await apply_row(uow, ctx, actor, row)
        except DomainError as exc:
            await savepoint.rollback()
            outcomes.append((row, RowIssue(row.row_number, "row", exc.message)))
            continue
        except Exception:  # the database refused the row itself
            incident = uuid.uuid4().hex[:12]
            log.exception("import: row %d refused by the database, incident %s",
                          row.row_number, incident)
            await savepoint.rollback()
            outcomes.append((row, RowIssue(row.row_number, "row",
                                           f"the database refused this row (incident "
                                           f"{incident}); the other rows are not affected")))
            continue
        await savepoint.commit()
        outcomes.append((row, outcome))
    return outcomes


class _Batch:
    """One chunk of rows in sheet order, with the new tickets written together at the end of
    each pass over it.

    A row whose match could depend on what this pass has not yet written waits for the next
    pass, and so does every later row with the same key, so that rows sharing a key keep their
    order: the same external ref twice, a DR-only row after a new ticket on that DR, a Ref
    that may belong to a ticket about to be written, an external ref that an earlier row moved
    from one ticket to another. The outcome is the one of applying the rows one by one, but
    for the refs of new tickets, which follow the order in which they are written."""

    def __init__(self, uow: UnitOfWork, ctx: Context, actor: Actor) -> None:
        self.uow, self.ctx, self.actor = uow, ctx, actor
        self.people: dict[str, int | str | None] = {}

    async def apply(self, rows: list[ImportRow]) -> list[Outcome]:
        outcomes: dict[int, str | RowIssue] = {}
        waiting = rows
        while waiting:
            waiting = await self._pass(waiting, outcomes)
        return [(row, outcomes[id(row)]) for row in rows]

    async def _pass(self, rows: list[ImportRow], outcomes: dict[int, str | RowIssue]
                    ) -> list[ImportRow]:
        await self.uow.flush()  # what the pass before changed, for the look-ups below
        by_ref = await self.uow.tickets.by_refs([r.ref for r in rows if r.ref])
        by_ext = await self.uow.tickets.by_external_refs(
            [r.external_ref for r in rows if r.external_ref])
        await self._read_ahead(rows, by_ref, by_ext)
        new_rows: list[ImportRow] = []
        news: list[NewTicket] = []
        unsettled: set[tuple[str, str]] = set()  # keys this pass may still change
        later: list[ImportRow] = []
        for row in rows:
            keys = _keys(row)
            if row.dr:
                keys.add(("waiting on dr", row.dr))
            if unsettled & keys or (row.ref and row.ref not in by_ref and news):
                later.append(row)
                unsettled |= keys
                if row.dr:  # it may yet open a ticket on its DR
                    unsettled.add(("dr", row.dr))
                continue
            try:
                ticket = await self._match(row, by_ref, by_ext)
                if ticket is None:
                    _unknown_ref(row)
                    news.append(await self._new_ticket(row))
                    new_rows.append(row)
                    unsettled |= _keys_of_new(row)
                    continue
                moved_from = ticket.external_ref
                outcomes[id(row)] = await _update_row(self.uow, self.ctx, self.actor,
                                                      ticket, row, self.people)
                if ticket.external_ref != moved_from:
                    unsettled |= {("ext", e) for e in (moved_from, ticket.external_ref) if e}
            except DomainError as exc:
                outcomes[id(row)] = RowIssue(row.row_number, "row", exc.message)
        try:
            made: list[Any] = await create_many(self.uow, self.ctx, self.actor, news)
        except DomainError as exc:  # e.g. the importer may update tickets but not log them
            made = [exc] * len(news)
        for row, result in zip(new_rows, made, strict=True):
            outcomes[id(row)] = (RowIssue(row.row_number, "row", result.message)
                                 if isinstance(result, DomainError) else "created")
        return later

    async def _read_ahead(self, rows: list[ImportRow], by_ref: dict[str, Ticket],
                          by_ext: dict[str, Ticket]) -> None:
        """Read at once what the rows' updates will ask for ticket by ticket: the holds (a
        new priority restarts the clock) and the drops (a new cause re-computes billing)."""
        matched = ((row, by_ref.get(row.ref or "") or by_ext.get(row.external_ref or ""))
                   for row in rows)
        changing = [tk for row, tk in matched if tk is not None and _would_change(tk, row)]
        if changing:
            await self.uow.tickets.load_holds([tk.id for tk in changing])
            await self.uow.drs.get_many([tk.dr_number for tk in changing if tk.dr_number])

    async def _match(self, row: ImportRow, by_ref: dict[str, Ticket],
                     by_ext: dict[str, Ticket]) -> Ticket | None:
        if row.ref and row.ref in by_ref:
            return by_ref[row.ref]
        if row.external_ref:
            return by_ext.get(row.external_ref)
        if row.dr and not row.ref:
            await self.uow.flush()  # a ticket this pass cancelled or closed is not open
            return await _the_open_ticket(self.uow, row.dr)
        return None

    async def _new_ticket(self, row: ImportRow) -> NewTicket:
        key = (row.assigned_to or "").lower()
        if key not in self.people:
            self.people[key] = await _person(self.uow, row.assigned_to)
        await _check_area(self.uow, row)
        return _new_ticket(row, self.ctx, _assignee(row, self.people[key]))


def _keys(row: ImportRow) -> set[tuple[str, str]]:
    """What a row is matched by. A DR-only row also holds back every later row on its DR
    while it waits, as any of them could change which tickets are open there."""
    keys = {("ref", row.ref)} if row.ref else set()
    if row.external_ref:  # a Ref that is not found falls back to the external ref
        keys.add(("ext", row.external_ref))
    if keys or not row.dr:
        return keys
    return {("dr", row.dr), ("waiting on dr", row.dr)}


def _keys_of_new(row: ImportRow) -> set[tuple[str, str]]:
    """What a new ticket could be matched by before the end of the pass gives it a ref."""
    keys = {("dr", row.dr)} if row.dr else set()
    return keys | ({("ext", row.external_ref)} if row.external_ref else set())


async def _apply_batch(uow: UnitOfWork, ctx: Context, actor: Actor,
                       rows: list[ImportRow]) -> list[Outcome]:
    for row in rows:
        row.warnings.clear()
    return await _Batch(uow, ctx, actor).apply(rows)


async def _find(uow: UnitOfWork, row: ImportRow) -> Ticket | None:
    if row.ref and (ticket := await uow.tickets.by_ref(row.ref, for_update=True)):
        return ticket
    if row.external_ref:
        return await uow.tickets.by_external_ref(row.external_ref)
    if row.dr and not row.ref:
        return await _the_open_ticket(uow, row.dr)
    return None


def _unknown_ref(row: ImportRow) -> None:
    """A Ref this database does not know (the sheet came from another one, or the ticket is
    gone) matched nothing, nor did its external ref: with a DR the row logs a new ticket, as
    any row that matches nothing; without one there is nothing to log it on."""
    if not row.ref:
        return
    if not row.dr:
        raise DomainError(f"No ticket {row.ref} here, and no DR number to log it anew.")
    row.warnings.append(RowIssue(row.row_number, "Ref", f"no ticket {row.ref} here; the row "
                                                       "is logged as a new ticket"))


async def _the_open_ticket(uow: UnitOfWork, dr: str) -> Ticket | None:
    """The DR's open ticket, when it has exactly one (SPEC 7: rows with neither ref)."""
    open_ = await uow.tickets.open_for_dr(dr)
    return open_[0] if len(open_) == 1 else None


def _started(row: ImportRow, ctx: Context) -> datetime | None:
    if row.date is None:
        return None
    # The report gives a day; the work is taken to have been logged at 08:00 that day.
    started = datetime.combine(row.date, time(8), ZoneInfo(ctx.timezone))
    return min(started, ctx.now)


async def _person(uow: UnitOfWork, name: str | None) -> int | str | None:
    """The id of the person `Assigned To` names (find_person), or why there is none."""
    if not name:
        return None
    try:
        return (await find_person(uow, name)).id
    except NotFound:
        return f"no registered person '{name}'"
    except DomainError:  # a name several people have
        return f"'{name}' could be several people"


async def _check_area(uow: UnitOfWork, row: ImportRow) -> None:
    """A new ticket's Area that names no registered project: the ticket has none, and the
    row says so (the register's projects come with `ticketbot drs import`)."""
    if row.project and await uow.projects.by_name(row.project) is None:
        row.warnings.append(RowIssue(row.row_number, "Area", f"'{row.project}' is not a "
                                     "registered project; the ticket has none"))


def _assignee(row: ImportRow, person: int | str | None) -> int | None:
    if isinstance(person, str):
        row.warnings.append(RowIssue(row.row_number, "Assigned To",
                                     f"{person}; the ticket is left unassigned"))
        return None
    return person


def _new_ticket(row: ImportRow, ctx: Context, assignee: int | None) -> NewTicket:
    return NewTicket(
        title=row.title or row.description, description=row.description,
        dr_number=row.dr, priority=row.priority or Priority.NORMAL,
        ticket_type=row.ticket_type or TicketType.MAINTENANCE, source=Source.WEEKLY_REPORT,
        external_ref=row.external_ref, assignee_id=assignee, status=row.status,
        pole_number=row.pole, pon_number=row.pon, zone=row.zone, project=row.project,
        address=row.address, contractor=row.contractor, created_at=_started(row, ctx),
        fault_cause=row.fault_cause,
        fault_cause_details=f"imported from the weekly report (row {row.row_number})")


async def apply_row(uow: UnitOfWork, ctx: Context, actor: Actor, row: ImportRow) -> str:
    """'created', 'updated' or 'unchanged', one row on its own."""
    ticket = await _find(uow, row)
    if ticket is None:
        _unknown_ref(row)
        await _check_area(row=row, uow=uow)
        new = _new_ticket(row, ctx, _assignee(row, await _person(uow, row.assigned_to)))
        await ticket_service.create_ticket(uow, ctx, actor, new)
        return "created"
    return await _update_row(uow, ctx, actor, ticket, row)


_FIELDS = (("title", "title"), ("description", "description"), ("pole_number", "pole"),
           ("pon_number", "pon"), ("zone", "zone"), ("address", "address"),
           ("external_ref", "external_ref"))


@dataclass
class _Named:
    """The people, contractor and project a row names, as the ids they have here (None: not
    named, or not known; a problem with the name says why)."""

    assignee: int | None = None
    assignee_problem: str | None = None
    contractor: int | None = None
    contractor_problem: str | None = None
    project: int | None = None
    project_problem: str | None = None


async def _named(uow: UnitOfWork, row: ImportRow, ticket: Ticket,
                 people: dict[str, int | str | None]) -> _Named:
    named = _Named()
    if row.assigned_to:
        key = row.assigned_to.lower()
        if key not in people:
            people[key] = await _person(uow, row.assigned_to)
        if isinstance(people[key], str):
            named.assignee_problem = people[key]  # type: ignore[assignment]
        else:
            named.assignee = people[key]  # type: ignore[assignment]
    if row.contractor:
        contractor = await uow.users.contractor(row.contractor)
        named.contractor = contractor.id if contractor else None
        # An assignee's company is the ticket's, as when logging or assigning it.
        assignee_id = ticket.assignee_id if named.assignee is None else named.assignee
        person = await uow.users.by_id(assignee_id) if assignee_id is not None else None
        if person is not None and person.contractor_id not in (None, named.contractor):
            named.contractor = person.contractor_id
            named.contractor_problem = (f"{person.name} works for another contractor; the "
                                        "ticket stays with theirs")
    if row.project:
        project = await uow.projects.by_name(row.project)
        named.project = project.id if project else None
        if project is None:
            named.project_problem = f"'{row.project}' is not a registered project; left as it was"
    return named


def _would_change(ticket: Ticket, row: ImportRow, named: _Named | None = None) -> bool:
    """Whether the row asks for anything the ticket does not already have; most rows of a
    re-import do not, and they are answered without a write. Without `named`, only what
    needs no look-up is compared."""
    if any(getattr(row, src) is not None and getattr(ticket, attr) != getattr(row, src)
           for attr, src in _FIELDS):
        return True
    if ((row.priority and row.priority is not ticket.priority)
            or (row.fault_cause and row.fault_cause is not ticket.fault_cause)
            or (row.status and row.status is not ticket.status)
            or (row.ticket_type and row.ticket_type is not ticket.ticket_type)):
        return True
    if named is None:
        return False
    return bool((row.contractor and named.contractor != ticket.contractor_id)
                or named.project not in (None, ticket.project_id)
                or named.assignee not in (None, ticket.assignee_id))


async def _update_row(uow: UnitOfWork, ctx: Context, actor: Actor, ticket: Ticket,
                      row: ImportRow, people: dict[str, int | str | None] | None = None
                      ) -> str:
    named = await _named(uow, row, ticket, {} if people is None else people)
    if not _would_change(ticket, row, named):
        return "unchanged"
    return "updated" if await _update(uow, ctx, actor, ticket, row, named) else "unchanged"


async def _assignable(uow: UnitOfWork, actor: Actor, ticket: Ticket, row: ImportRow,
                      named: _Named) -> int | None:
    """Whom the row assigns the ticket to, checked as `assign` checks it; a refusal is a
    warning on the row, and its other fields still apply."""
    if named.assignee_problem:
        row.warnings.append(RowIssue(row.row_number, "Assigned To",
                                     f"{named.assignee_problem}; left as it was"))
    if named.assignee in (None, ticket.assignee_id):
        return None
    try:
        if ticket.status in CLOSED_STATUSES:
            raise DomainError(f"{ticket.ref} is {ticket.status.value}: it cannot be assigned")
        if actor.user is not None:
            permissions.require(actor.user, Action.ASSIGN, ticket)
        ticket_service.check_assignable(actor, await uow.users.by_id(named.assignee))
    except DomainError as exc:
        row.warnings.append(RowIssue(row.row_number, "Assigned To", exc.message))
        return None
    return named.assignee


async def _update(uow: UnitOfWork, ctx: Context, actor: Actor, ticket: Ticket,
                  row: ImportRow, named: _Named) -> bool:
    """Apply the row's changes. Every refusal that would leave the row half-applied is
    raised before the first change, so a batch needs no savepoint per row."""
    new_priority = row.priority and row.priority is not ticket.priority
    new_cause = row.fault_cause and row.fault_cause is not ticket.fault_cause
    if new_priority:
        ticket_service.check_priority(actor, ticket)
    if new_cause:
        work.check_fault_cause(actor, ticket)
    assignee = await _assignable(uow, actor, ticket, row, named)
    if named.project_problem:
        row.warnings.append(RowIssue(row.row_number, "Area", named.project_problem))
    if named.contractor_problem:
        row.warnings.append(RowIssue(row.row_number, "Contractor", named.contractor_problem))
    contractor_id = named.contractor
    if row.contractor and contractor_id is None:  # a contractor not met before: as on logging
        contractor = await uow.users.contractor(row.contractor, create=True)
        contractor_id = contractor.id if contractor else None
    changes: dict[str, tuple[Any, Any]] = {}
    for attr, value in (("title", row.title), ("description", row.description),
                        ("pole_number", row.pole), ("pon_number", row.pon),
                        ("zone", row.zone), ("address", row.address),
                        ("external_ref", row.external_ref), ("ticket_type", row.ticket_type),
                        ("contractor_id", contractor_id), ("project_id", named.project)):
        if value is not None and getattr(ticket, attr) != value:
            changes[attr] = (getattr(ticket, attr), value)
            setattr(ticket, attr, value)
    if changes:
        ticket.updated_at = ctx.now
        record(uow, ctx, actor, ticket, AuditAction.IMPORTED,
               {k: old for k, (old, _) in changes.items()},
               {k: new for k, (_, new) in changes.items()})
    changed = bool(changes)
    if "project_id" in changes:  # the guarantee, and so the billing, follow the project
        await work.recompute_billing(uow, ctx, ticket)
    if assignee is not None:
        await ticket_service.assign(uow, ctx, actor, ticket, assignee)
        changed = True
    if new_priority:
        assert row.priority is not None
        await ticket_service.set_priority(uow, ctx, actor, ticket, row.priority)
        changed = True
    if new_cause:
        assert row.fault_cause is not None
        await work.set_fault_cause(uow, ctx, actor, ticket, row.fault_cause,
                                   f"imported from the weekly report (row {row.row_number})")
        changed = True
    if row.status and row.status is not ticket.status:
        if FORWARD_ORDER[row.status] <= FORWARD_ORDER[ticket.status]:
            row.warnings.append(RowIssue(row.row_number, "Status",
                                         f"{ticket.ref} is {ticket.status.value}; an import "
                                         f"never moves it back to {row.status.value}"))
        else:
            # change_status refuses before it changes anything, except that a submission for
            # QA records its readiness run first: only that one needs undoing on refusal.
            savepoint = await uow.savepoint() if row.status is Status.PENDING_QA else None
            try:
                await ticket_service.change_status(uow, ctx, actor, ticket, row.status)
                if savepoint:
                    await savepoint.commit()
                changed = True
            except DomainError as exc:
                if savepoint:
                    await savepoint.rollback()
                row.warnings.append(RowIssue(row.row_number, "Status", exc.message))
    return changed


__all__ = ["ImportSummary", "Status", "import_weekly"]
