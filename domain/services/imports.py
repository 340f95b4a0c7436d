"""Applying a weekly report (SPEC 7): upsert by ref, external ref, or the DR's one open ticket;
statuses only move forward, through the workflow's guards. Safe to run twice."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from domain.context import Actor, Context
from domain.enums import AuditAction, Priority, Source, Status, TicketType
from domain.errors import DomainError
from domain.model import Ticket
from domain.ports import UnitOfWork
from domain.services import tickets as ticket_service
from domain.services import work
from domain.services.audit import record
from domain.weekly import ImportRow, RawRowLike, RowIssue, report_uid, validate_row
from domain.workflow import FORWARD_ORDER

CHUNK = 250


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
    rows: Iterable[RawRowLike],
    headers: dict[str, str],
    *,
    filename: str | None = None,
    dry_run: bool = False,
    progress: Callable[[int], None] | None = None,
) -> ImportSummary:
    summary = ImportSummary(uid=f"imp_{uuid.uuid4().hex[:16]}", dry_run=dry_run)
    ctx = Context(now=ctx.now, timezone=ctx.timezone, rx_range=ctx.rx_range,
                  channels=ctx.channels, import_uid=summary.uid)
    dates = []
    chunk: list[ImportRow] = []
    for raw in rows:
        summary.total += 1
        result = validate_row(raw, headers)
        if result.errors:
            summary.errors.extend(result.errors)
        elif result.row is not None:
            if result.row.date:
                dates.append(result.row.date)
            chunk.append(result.row)
        if len(chunk) >= CHUNK:
            await _apply_chunk(uow_factory, ctx, actor, chunk, summary, dry_run)
            chunk = []
            if progress:
                progress(summary.total)
    if chunk:
        await _apply_chunk(uow_factory, ctx, actor, chunk, summary, dry_run)
    if progress:
        progress(summary.total)
    summary.report_uid = report_uid(dates, ctx.now.astimezone(ZoneInfo(ctx.timezone)).date())
    if not dry_run:
        async with uow_factory() as uow:
            await uow.imports.add_report(summary.to_json(), filename, actor.id, ctx.now)
            await uow.commit()
    return summary


async def _apply_chunk(uow_factory: Callable[[], Any], ctx: Context, actor: Actor,
                       rows: list[ImportRow], summary: ImportSummary, dry_run: bool) -> None:
    async with uow_factory() as uow:
        for row in rows:
            savepoint = await uow.session.begin_nested()
            try:
                outcome = await apply_row(uow, ctx, actor, row)
            except DomainError as exc:
                await savepoint.rollback()
                summary.errors.append(RowIssue(row.row_number, "row", exc.message))
                continue
            await savepoint.commit()
            summary.warnings.extend(row.warnings)
            setattr(summary, outcome, getattr(summary, outcome) + 1)
        if dry_run:
            await uow.rollback()
        else:
            await uow.commit()


async def _find(uow: UnitOfWork, row: ImportRow) -> Ticket | None:
    if row.ref:
        return await uow.tickets.by_ref(row.ref, for_update=True)
    if row.external_ref:
        return await uow.tickets.by_external_ref(row.external_ref)
    if row.dr:
        open_ = await uow.tickets.open_for_dr(row.dr)
        if len(open_) == 1:
            return open_[0]
    return None


def _started(row: ImportRow, ctx: Context) -> datetime | None:
    if row.date is None:
        return None
    # The report gives a day; the work is taken to have been logged at 08:00 that day.
    started = datetime.combine(row.date, time(8), ZoneInfo(ctx.timezone))
    return min(started, ctx.now)


async def _person(uow: UnitOfWork, name: str | None) -> int | None:
    if not name:
        return None
    people = await uow.users.by_name(name)
    return people[0].id if len(people) == 1 else None


async def apply_row(uow: UnitOfWork, ctx: Context, actor: Actor, row: ImportRow) -> str:
    """'created', 'updated' or 'unchanged'."""
    ticket = await _find(uow, row)
    if ticket is None:
        if row.ref:
            raise DomainError(f"No ticket {row.ref} to update.")
        assignee = await _person(uow, row.assigned_to)
        created = await ticket_service.create_ticket(uow, ctx, actor, ticket_service.NewTicket(
            title=row.title or row.description, description=row.description,
            dr_number=row.dr, priority=row.priority or Priority.NORMAL,
            ticket_type=row.ticket_type or TicketType.MAINTENANCE, source=Source.WEEKLY_REPORT,
            external_ref=row.external_ref, assignee_id=assignee, status=row.status,
            pole_number=row.pole, pon_number=row.pon, zone=row.zone, project=row.project,
            address=row.address, contractor=row.contractor, created_at=_started(row, ctx),
            fault_cause=row.fault_cause,
            fault_cause_details=f"imported from the weekly report (row {row.row_number})"))
        del created
        return "created"
    return "updated" if await _update(uow, ctx, actor, ticket, row) else "unchanged"


async def _update(uow: UnitOfWork, ctx: Context, actor: Actor, ticket: Ticket,
                  row: ImportRow) -> bool:
    changes: dict[str, tuple[Any, Any]] = {}
    for attr, value in (("title", row.title), ("description", row.description),
                        ("pole_number", row.pole), ("pon_number", row.pon),
                        ("zone", row.zone), ("address", row.address),
                        ("external_ref", row.external_ref)):
        if value is not None and getattr(ticket, attr) != value:
            changes[attr] = (getattr(ticket, attr), value)
            setattr(ticket, attr, value)
    if changes:
        ticket.updated_at = ctx.now
        record(uow, ctx, actor, ticket, AuditAction.IMPORTED,
               {k: old for k, (old, _) in changes.items()},
               {k: new for k, (_, new) in changes.items()})
    changed = bool(changes)
    if row.priority and row.priority is not ticket.priority:
        await ticket_service.set_priority(uow, ctx, actor, ticket, row.priority)
        changed = True
    if row.fault_cause and row.fault_cause is not ticket.fault_cause:
        await work.set_fault_cause(uow, ctx, actor, ticket, row.fault_cause,
                                   f"imported from the weekly report (row {row.row_number})")
        changed = True
    if row.status and row.status is not ticket.status:
        if FORWARD_ORDER[row.status] <= FORWARD_ORDER[ticket.status]:
            row.warnings.append(RowIssue(row.row_number, "Status",
                                         f"{ticket.ref} is {ticket.status.value}; an import "
                                         f"never moves it back to {row.status.value}"))
        else:
            savepoint = await uow.session.begin_nested()
            try:
                await ticket_service.change_status(uow, ctx, actor, ticket, row.status)
                await savepoint.commit()
                changed = True
            except DomainError as exc:
                await savepoint.rollback()
                row.warnings.append(RowIssue(row.row_number, "Status", exc.message))
    return changed


__all__ = ["ImportSummary", "Status", "import_weekly"]
