"""The unit of work: one SQLAlchemy session, one transaction, the repositories over it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from operator import attrgetter
from typing import Any

from sqlalchemy import func, or_, select, text, update
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.enums import CLOSED_STATUSES, Priority, RiskStatus
from domain.model import (
    Attachment,
    Contractor,
    DrRecord,
    HandoverSnapshot,
    OutboundMessage,
    Project,
    QaRun,
    RiskAcceptance,
    Ticket,
    TicketHold,
    TicketRecord,
    User,
    VerificationStep,
)
from domain.ports import EscalationRequest, TicketQuery
from domain.refs import format_ref
from storage import tables as t
from storage.bulk import insert_rows


def _chunks(items: Sequence[Any], size: int = 500) -> list[Sequence[Any]]:
    """Slices that keep one statement under SQLite's bound-parameter limit."""
    return [items[i : i + size] for i in range(0, len(items), size)]


class _Repo:
    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    @property
    def dialect(self) -> str:
        return self.s.bind.dialect.name  # type: ignore[union-attr]


_TICKET_COLUMNS = [c.key for c in t.tickets.columns if c.key != "id"]


class SqlTickets(_Repo):
    def __init__(self, session: AsyncSession) -> None:
        super().__init__(session)
        # Holds read in bulk by load_holds (an import about to re-prioritise hundreds of
        # tickets), kept current by add_hold and dropped when a savepoint rolls back.
        self._holds: dict[int, list[TicketHold]] = {}

    async def add(self, ticket: Ticket) -> None:
        self.s.add(ticket)

    async def next_ref(self) -> str:
        return (await self.next_refs(1))[0]

    async def next_refs(self, count: int) -> list[str]:
        """`count` consecutive-or-not refs in one round trip (imports take thousands)."""
        if count <= 0:
            return []
        if self.dialect == "postgresql":
            rows = await self.s.execute(
                text("SELECT nextval('ticket_ref_seq') FROM generate_series(1, :n)"),
                {"n": count})
            return [format_ref(int(r[0])) for r in rows]
        last = (
            await self.s.execute(
                update(t.counters)
                .where(t.counters.c.name == "ticket_ref")
                .values(value=t.counters.c.value + count)
                .returning(t.counters.c.value)
            )
        ).scalar_one()
        return [format_ref(n) for n in range(int(last) - count + 1, int(last) + 1)]

    async def insert_many(self, tickets: Sequence[TicketRecord]) -> None:
        """Store new tickets in one go and give each its id. They stay outside the session:
        callers that go on to change them load them again (by_ref)."""
        values = attrgetter(*_TICKET_COLUMNS)
        ids = await insert_rows(self.s, t.tickets, _TICKET_COLUMNS,
                                [values(tk) for tk in tickets], ids=True)
        for ticket, ticket_id in zip(tickets, ids, strict=True):
            ticket.id = ticket_id

    async def by_refs(self, refs: Sequence[str]) -> dict[str, Ticket]:
        found: dict[str, Ticket] = {}
        for part in _chunks(sorted(set(refs))):
            stmt = select(Ticket).where(t.tickets.c.ref.in_(part))
            found.update((tk.ref, tk) for tk in (await self.s.execute(stmt)).scalars())
        return found

    async def by_external_refs(self, external_refs: Sequence[str]) -> dict[str, Ticket]:
        """The newest ticket of each external ref, as by_external_ref would answer."""
        found: dict[str, Ticket] = {}
        for part in _chunks(sorted(set(external_refs))):
            stmt = (select(Ticket).where(t.tickets.c.external_ref.in_(part))
                    .order_by(t.tickets.c.id))
            found.update((tk.external_ref, tk) for tk in (await self.s.execute(stmt)).scalars())
        return found

    async def by_ref(self, ref: str, *, for_update: bool = False) -> Ticket | None:
        stmt = select(Ticket).where(t.tickets.c.ref == ref)
        if for_update and self.dialect == "postgresql":
            stmt = stmt.with_for_update()
        return (await self.s.execute(stmt)).scalar_one_or_none()

    async def by_external_ref(self, external_ref: str) -> Ticket | None:
        stmt = (
            select(Ticket)
            .where(t.tickets.c.external_ref == external_ref)
            .order_by(t.tickets.c.id.desc())
            .limit(1)
        )
        return (await self.s.execute(stmt)).scalar_one_or_none()

    async def by_id(self, ticket_id: int) -> Ticket | None:
        return await self.s.get(Ticket, ticket_id)

    async def open_for_dr(self, dr: str) -> list[Ticket]:
        stmt = select(Ticket).where(
            t.tickets.c.dr_number == dr,
            t.tickets.c.status.not_in([s.value for s in CLOSED_STATUSES]),
        )
        return list((await self.s.execute(stmt)).scalars())

    async def search(self, q: TicketQuery) -> tuple[list[Ticket], int]:
        c = t.tickets.c
        conds: list[Any] = []
        if q.status:
            conds.append(c.status.in_([s.value for s in q.status]))
        if q.open_only:
            conds.append(c.status.not_in([s.value for s in CLOSED_STATUSES]))
        if q.priority:
            conds.append(c.priority.in_([p.value for p in q.priority]))
        if q.assignee_id is not None:
            conds.append(c.assignee_id == q.assignee_id)
        if q.unassigned:
            conds.append(c.assignee_id.is_(None))
        if q.contractor_id is not None:
            conds.append(c.contractor_id == q.contractor_id)
        if q.project_id is not None:
            conds.append(c.project_id == q.project_id)
        for col, value in ((c.zone, q.zone), (c.dr_number, q.dr), (c.pole_number, q.pole),
                           (c.pon_number, q.pon)):
            if value:
                conds.append(func.lower(col) == value.lower())
        if q.text:
            like = f"%{q.text.lower()}%"
            conds.append(
                or_(
                    func.lower(c.title).like(like),
                    func.lower(func.coalesce(c.description, "")).like(like),
                    func.lower(c.ref).like(like),
                    func.lower(func.coalesce(c.external_ref, "")).like(like),
                    func.lower(func.coalesce(c.address, "")).like(like),
                    func.lower(func.coalesce(c.dr_number, "")).like(like),
                    func.lower(func.coalesce(c.pole_number, "")).like(like),
                    func.lower(func.coalesce(c.pon_number, "")).like(like),
                    func.lower(func.coalesce(c.zone, "")).like(like),
                )
            )
        if (seen := q.visible_to) is not None:
            visible = [c.assignee_id == seen.user_id, c.created_by_id == seen.user_id]
            if seen.company_id is not None:
                visible.append(c.contractor_id == seen.company_id)
            conds.append(or_(*visible))
        if q.due_before is not None:
            conds.append(
                or_(
                    (c.first_response_at.is_(None)) & (c.response_due_at < q.due_before),
                    (c.resolved_at.is_(None)) & (c.resolution_due_at < q.due_before),
                )
            )
        for extra in q.extra.get("conditions", ()):
            conds.append(extra)
        total = 0
        if q.count:
            total = (
                await self.s.execute(select(func.count()).select_from(t.tickets).where(*conds))
            ).scalar_one()
        if q.after_id is not None:
            stmt = select(Ticket).where(*conds, c.id > q.after_id).order_by(c.id).limit(q.limit)
        else:
            stmt = (select(Ticket).where(*conds).order_by(c.id.desc())
                    .limit(q.limit).offset(q.offset))
        return list((await self.s.execute(stmt)).scalars()), int(total)

    async def load_holds(self, ticket_ids: Sequence[int]) -> None:
        """Read the holds of many tickets in one query; holds() then answers them from memory."""
        wanted = [i for i in set(ticket_ids) if i not in self._holds]
        for part in _chunks(wanted):
            self._holds.update((i, []) for i in part)
            stmt = select(TicketHold).where(t.ticket_holds.c.ticket_id.in_(part))
            for hold in (await self.s.execute(stmt)).scalars():
                self._holds[hold.ticket_id].append(hold)

    def forget_holds(self, *, rolled_back_only: bool = False) -> None:
        """Forget the holds read by load_holds; after a savepoint's rollback, only those of
        tickets that gained a hold the rollback threw away."""
        if not rolled_back_only:
            self._holds.clear()
            return
        for ticket_id in [i for i, holds in self._holds.items()
                          if any(h not in self.s for h in holds)]:
            del self._holds[ticket_id]

    async def holds(self, ticket_id: int) -> list[TicketHold]:
        if ticket_id in self._holds:
            return sorted(self._holds[ticket_id], key=lambda h: h.started_at)
        stmt = (
            select(TicketHold)
            .where(t.ticket_holds.c.ticket_id == ticket_id)
            .order_by(t.ticket_holds.c.started_at)
        )
        if any(isinstance(o, TicketHold) for o in self.s.new):
            await self.s.flush()  # a hold added in this transaction must be seen
        # Nothing else pending can change the answer, so pending changes wait for the commit
        # (an import re-prioritising hundreds of tickets then writes them in one flush).
        with self.s.no_autoflush:
            return list((await self.s.execute(stmt)).scalars())

    async def add_hold(self, hold: TicketHold) -> None:
        self.s.add(hold)
        if hold.ticket_id in self._holds:
            self._holds[hold.ticket_id].append(hold)

    async def steps(self, ticket_id: int) -> list[VerificationStep]:
        stmt = (
            select(VerificationStep)
            .where(t.verification_steps.c.ticket_id == ticket_id)
            .order_by(t.verification_steps.c.number)
        )
        return list((await self.s.execute(stmt)).scalars())

    async def add_steps(self, steps: Sequence[VerificationStep]) -> None:
        self.s.add_all(steps)

    async def attachments(self, ticket_id: int) -> list[Attachment]:
        stmt = (
            select(Attachment)
            .where(t.attachments.c.ticket_id == ticket_id)
            .order_by(t.attachments.c.id)
        )
        return list((await self.s.execute(stmt)).scalars())

    async def add_attachment(self, attachment: Attachment) -> None:
        self.s.add(attachment)

    async def add_qa_run(self, run: QaRun) -> None:
        self.s.add(run)

    async def last_qa_run(self, ticket_id: int) -> QaRun | None:
        stmt = (
            select(QaRun)
            .where(t.qa_runs.c.ticket_id == ticket_id)
            .order_by(t.qa_runs.c.id.desc())
            .limit(1)
        )
        return (await self.s.execute(stmt)).scalar_one_or_none()

    async def risk_counts(self, ticket_id: int) -> tuple[int, int]:
        c = t.risk_acceptances.c
        rows = (
            await self.s.execute(
                select(c.status, func.count())
                .where(c.ticket_id == ticket_id)
                .group_by(c.status)
            )
        ).all()
        counts = {status: n for status, n in rows}
        return counts.get(RiskStatus.PENDING_APPROVAL.value, 0), counts.get(
            RiskStatus.ACTIVE.value, 0
        )


    async def risks(self, ticket_id: int) -> list[RiskAcceptance]:
        stmt = (
            select(RiskAcceptance)
            .where(t.risk_acceptances.c.ticket_id == ticket_id)
            .order_by(t.risk_acceptances.c.id)
        )
        return list((await self.s.execute(stmt)).scalars())

    async def add_risk(self, risk: RiskAcceptance) -> None:
        self.s.add(risk)

    async def risk(self, risk_id: int, *, for_update: bool = False) -> RiskAcceptance | None:
        stmt = select(RiskAcceptance).where(t.risk_acceptances.c.id == risk_id)
        if for_update and self.dialect == "postgresql":
            stmt = stmt.with_for_update()
        return (await self.s.execute(stmt)).scalar_one_or_none()

    async def last_snapshot(self, ticket_id: int) -> HandoverSnapshot | None:
        stmt = (
            select(HandoverSnapshot)
            .where(t.handover_snapshots.c.ticket_id == ticket_id)
            .order_by(t.handover_snapshots.c.id.desc())
            .limit(1)
        )
        return (await self.s.execute(stmt)).scalar_one_or_none()

    async def add_snapshot(self, snapshot: HandoverSnapshot) -> None:
        self.s.add(snapshot)


class SqlUsers(_Repo):
    async def by_ids(self, ids: Sequence[int]) -> dict[int, User]:
        if not ids:
            return {}
        rows = await self.s.execute(select(User).where(t.users.c.id.in_(set(ids))))
        return {u.id: u for u in rows.scalars()}

    async def add(self, user: User) -> None:
        self.s.add(user)

    async def by_id(self, user_id: int) -> User | None:
        return await self.s.get(User, user_id)

    async def _one(self, cond: Any) -> User | None:
        return (await self.s.execute(select(User).where(cond))).scalar_one_or_none()

    async def by_phone(self, phone: str) -> User | None:
        return await self._one(t.users.c.phone == phone)

    async def by_slack_id(self, slack_id: str) -> User | None:
        return await self._one(t.users.c.slack_id == slack_id)

    async def by_email(self, email: str) -> User | None:
        return await self._one(func.lower(t.users.c.email) == email.lower())

    async def by_name(self, name: str) -> list[User]:
        """Exact (case-insensitive) full name first, else first-name matches."""
        c = t.users.c
        exact = list(
            (await self.s.execute(select(User).where(func.lower(c.name) == name.lower())))
            .scalars()
        )
        if exact:
            return exact
        stmt = select(User).where(func.lower(c.name).like(f"{name.lower()} %"))
        return list((await self.s.execute(stmt)).scalars())

    async def with_role(self, role: str) -> list[User]:
        stmt = select(User).where(t.users.c.role == role, t.users.c.active.is_(True))
        return list((await self.s.execute(stmt.order_by(t.users.c.id))).scalars())

    async def all(self) -> list[User]:
        return list((await self.s.execute(select(User).order_by(t.users.c.id))).scalars())

    async def contractor(self, name: str, *, create: bool = False) -> Contractor | None:
        cache = self.__dict__.setdefault("_contractors", {})
        if name.lower() in cache:
            return cache[name.lower()]
        stmt = select(Contractor).where(func.lower(t.contractors.c.name) == name.lower())
        found = (await self.s.execute(stmt)).scalar_one_or_none()
        if found is not None:
            cache[name.lower()] = found
        if found is None and create:
            found = Contractor(name=name.strip())
            self.s.add(found)
            await self.s.flush()
            cache[name.lower()] = found
        return found

    async def contractor_by_id(self, contractor_id: int) -> Contractor | None:
        return await self.s.get(Contractor, contractor_id)


class SqlProjects(_Repo):
    def __init__(self, session: AsyncSession) -> None:
        super().__init__(session)
        self._by_name: dict[str, Project | None] = {}

    async def add(self, project: Project) -> None:
        self.s.add(project)
        self._by_name.pop(project.name.lower(), None)

    async def by_name(self, name: str) -> Project | None:
        key = name.lower()
        if key not in self._by_name:  # imports ask for the same few projects again and again
            stmt = select(Project).where(func.lower(t.projects.c.name) == key)
            self._by_name[key] = (await self.s.execute(stmt)).scalar_one_or_none()
        return self._by_name[key]

    async def by_id(self, project_id: int) -> Project | None:
        return await self.s.get(Project, project_id)

    async def by_group(self, group_jid: str) -> Project | None:
        stmt = select(Project).where(t.projects.c.whatsapp_group == group_jid)
        return (await self.s.execute(stmt)).scalar_one_or_none()


class SqlDrs(_Repo):
    def __init__(self, session: AsyncSession) -> None:
        super().__init__(session)
        # What get_many found (or did not) in this transaction: an import asks for the same
        # drops again, ticket by ticket, when it re-computes billing.
        self._known: dict[str, DrRecord | None] = {}

    async def get(self, dr_number: str) -> DrRecord | None:
        if dr_number in self._known:
            return self._known[dr_number]
        return await self.s.get(DrRecord, dr_number)

    async def get_many(self, dr_numbers: Sequence[str]) -> dict[str, DrRecord]:
        wanted = set(dr_numbers)
        found = {dr: r for dr in wanted if (r := self._known.get(dr)) is not None}
        unknown = sorted(dr for dr in wanted if dr not in self._known)
        for part in _chunks(unknown):
            stmt = select(DrRecord).where(t.drs.c.dr_number.in_(part))
            found.update((r.dr_number, r) for r in (await self.s.execute(stmt)).scalars())
        self._known.update((dr, found.get(dr)) for dr in unknown)
        return found

    def forget(self) -> None:
        self._known.clear()

    async def upsert_many(self, records: Sequence[DrRecord]) -> int:
        if not records:
            return 0
        cols = [c.name for c in t.drs.columns]
        rows = [{c: getattr(r, c) for c in cols} for r in records]
        insert = pg_insert if self.dialect == "postgresql" else sqlite_insert
        stmt = insert(t.drs)
        stmt = stmt.on_conflict_do_update(
            index_elements=["dr_number"],
            set_={c: stmt.excluded[c] for c in cols if c != "dr_number"},
        )
        self.forget()
        # Chunks keep each statement under SQLite's bound-parameter limit.
        for i in range(0, len(rows), 500):
            await self.s.execute(stmt, rows[i : i + 500])
        return len(rows)


class SqlPolicies(_Repo):
    def __init__(self, session: AsyncSession) -> None:
        super().__init__(session)
        self._cache: dict[Priority, dict[str, Any]] = {}

    async def get(self, priority: Priority) -> dict[str, Any]:
        # Policies change rarely; one read per transaction is enough.
        if priority not in self._cache:
            self._cache[priority] = await self._load(priority)
        return dict(self._cache[priority])

    async def _load(self, priority: Priority) -> dict[str, Any]:
        row = (
            await self.s.execute(
                select(t.sla_policies).where(t.sla_policies.c.priority == priority.value)
            )
        ).mappings().one()
        return {
            "priority": row["priority"].value,
            "response_minutes": row["response_minutes"],
            "resolution_minutes": row["resolution_minutes"],
            "calendar": row["calendar"].value,
            "escalation_chain": list(row["escalation_chain"]),
            "near_breach_ratio": row["near_breach_ratio"],
        }


class SqlOutbox(_Repo):
    async def add(self, message: OutboundMessage) -> None:
        self.s.add(message)

    async def insert_many(self, rows: Sequence[dict[str, Any]]) -> list[int]:
        """Many messages in one statement (the sweep); ids in the order of the rows."""
        if not rows:
            return []
        await self.s.flush()  # earlier ORM work first, so ids and order stay honest
        keys = sorted({k for row in rows for k in row})
        full = [{k: row.get(k) for k in keys} for row in rows]
        stmt = t.outbox.insert().returning(t.outbox.c.id, sort_by_parameter_order=True)
        result = await self.s.execute(stmt, full)
        return [r[0] for r in result.all()]

    async def sent_recently(self, dedupe_key: str, since: datetime) -> bool:
        c = t.outbox.c
        stmt = select(c.id).where(c.dedupe_key == dedupe_key, c.created_at >= since).limit(1)
        if (await self.s.execute(stmt)).first() is not None:
            return True
        # Not yet flushed messages of this same transaction count too.
        return any(
            isinstance(o, OutboundMessage) and o.dedupe_key == dedupe_key for o in self.s.new
        )


class Savepoint:
    """A nested transaction whose rollback leaves every loaded object readable again."""

    def __init__(self, session: AsyncSession, rolled_back: Callable[[], None]) -> None:
        self._session = session
        self._rolled_back = rolled_back  # the unit of work's caches may hold what is undone
        self._nested: Any = None

    async def begin(self) -> Savepoint:
        self._nested = await self._session.begin_nested()
        return self

    async def commit(self) -> None:
        await self._nested.commit()

    async def rollback(self) -> None:
        await self._nested.rollback()
        self._rolled_back()
        # Rolling back a savepoint expires the objects it touched, and in async code an
        # expired attribute cannot load itself later: read them back now, while we may.
        for obj in list(self._session.identity_map.values()):
            state = sa_inspect(obj)
            if state.persistent and state.expired_attributes:
                await self._session.refresh(obj)


class SqlUnitOfWork:
    """`async with uow:` opens a transaction; `commit()` ends it, leaving rolls it back."""

    def __init__(self, sessions: async_sessionmaker) -> None:
        self._sessions = sessions
        self.session: AsyncSession | None = None

    async def __aenter__(self) -> SqlUnitOfWork:
        s = self._sessions()
        self.session = s
        self.tickets = SqlTickets(s)
        self.users = SqlUsers(s)
        self.projects = SqlProjects(s)
        self.drs = SqlDrs(s)
        self.policies = SqlPolicies(s)
        self.outbox = SqlOutbox(s)
        self.inbound = SqlInbound(s)
        self.sla = SqlSla(s)
        self.jobs = SqlJobs(s)
        self.risks = SqlRisks(s)
        self.digest = SqlDigest(s)
        self.faults = SqlFaults(s)
        self.imports = SqlImports(s)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.session is not None
        # close() ends any unfinished transaction (the pool rolls it back) and detaches the
        # loaded objects without expiring them, so callers may still read what they loaded.
        try:
            await self.session.close()
        finally:
            self.session = None

    def add(self, obj: object) -> None:
        assert self.session is not None
        self.session.add(obj)

    async def savepoint(self) -> Savepoint:
        """`sp = await uow.savepoint()`, then `sp.commit()` or `sp.rollback()`."""
        assert self.session is not None
        return await Savepoint(
            self.session, lambda: self.tickets.forget_holds(rolled_back_only=True)).begin()

    def _forget(self) -> None:
        """After a rollback, what the repositories remember of this transaction is void."""
        self.tickets.forget_holds()
        self.drs.forget()

    async def flush(self) -> None:
        assert self.session is not None
        await self.session.flush()

    async def insert_audit(self, rows: Sequence[dict[str, Any]]) -> None:
        if rows:
            assert self.session is not None
            columns = sorted({k for row in rows for k in row})
            await insert_rows(self.session, t.audit_events, columns,
                              [tuple(row.get(k) for k in columns) for row in rows])

    async def commit(self) -> None:
        assert self.session is not None
        await self.session.commit()

    async def rollback(self) -> None:
        assert self.session is not None
        await self.session.rollback()
        self._forget()


class SqlInbound(_Repo):
    def _insert(self, table: Any) -> Any:
        return (pg_insert if self.dialect == "postgresql" else sqlite_insert)(table)

    async def settle_stored(self, event_id: int, now: datetime) -> None:
        """Mark a stored WhatsApp event applied, in the transaction that applies it."""
        await self.s.execute(update(t.waha_inbox).where(t.waha_inbox.c.id == event_id)
                             .values(processed_at=now, claimed_until=None))

    async def first_time(self, key: str, now: datetime) -> bool:
        """Record an inbound event key; False if it was recorded before (a duplicate).

        Runs inside the transaction that applies the event, so a crash before commit leaves
        the key unrecorded and the sender's retry is applied once.
        """
        stmt = (
            self._insert(t.inbound_events)
            .values(key=key[:255], received_at=now)
            .on_conflict_do_nothing(index_elements=["key"])
        )
        result = await self.s.execute(stmt)
        return bool(result.rowcount)

    async def context_ticket(self, user_id: int, since: datetime) -> int | None:
        c = t.chat_context.c
        row = (
            await self.s.execute(
                select(c.ticket_id).where(c.user_id == user_id, c.updated_at >= since)
            )
        ).first()
        return row[0] if row else None

    async def set_context(self, user_id: int, ticket_id: int, now: datetime) -> None:
        stmt = self._insert(t.chat_context).values(
            user_id=user_id, ticket_id=ticket_id, updated_at=now
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=["user_id"], set_={"ticket_id": ticket_id, "updated_at": now}
        )
        await self.s.execute(stmt)

    async def may_greet_unknown(self, address: str, now: datetime, tz: str) -> bool:
        """True at most once a local day per address."""
        from zoneinfo import ZoneInfo

        today = now.astimezone(ZoneInfo(tz)).date()
        c = t.unknown_senders.c
        stmt = self._insert(t.unknown_senders).values(address=address, last_replied_on=today)
        stmt = stmt.on_conflict_do_update(
            index_elements=["address"],
            set_={"last_replied_on": today},
            where=c.last_replied_on < today,
        )
        result = await self.s.execute(stmt)
        return bool(result.rowcount)

    async def lid_phone(self, lid: str) -> str | None:
        row = (
            await self.s.execute(select(t.lid_cache.c.phone).where(t.lid_cache.c.lid == lid))
        ).first()
        return row[0] if row else None

    async def remember_lid(self, lid: str, phone: str, now: datetime) -> None:
        stmt = self._insert(t.lid_cache).values(lid=lid, phone=phone, resolved_at=now)
        stmt = stmt.on_conflict_do_update(
            index_elements=["lid"], set_={"phone": phone, "resolved_at": now}
        )
        await self.s.execute(stmt)

    async def set_delivery_status(self, external_id: str, status: str) -> int:
        """WhatsApp acks only move forward (a late 'delivered' never undoes 'read')."""
        order = {"sent": 1, "delivered": 2, "read": 3, "failed": 4}
        c = t.outbox.c
        allowed = [s for s, rank in order.items() if rank < order[status]]
        stmt = (
            update(t.outbox)
            .where(
                c.external_id == external_id,
                or_(c.delivery_status.is_(None), c.delivery_status.in_(allowed)),
            )
            .values(delivery_status=status)
        )
        return (await self.s.execute(stmt)).rowcount or 0


class SqlSla(_Repo):
    async def due_tickets(self, now: datetime, limit: int) -> list[Ticket]:
        """Tickets whose next SLA moment has come: an index range scan, so the cost follows
        the due tickets, not the open ones. Rows are locked (others skip them) on PostgreSQL,
        so several sweepers share the work instead of repeating it."""
        c = t.tickets.c
        stmt = (
            select(Ticket)
            .where(c.sla_next_check_at <= now)
            .order_by(c.sla_next_check_at)
            .limit(limit)
        )
        if self.dialect == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True, of=t.tickets)
        return list((await self.s.execute(stmt)).scalars())

    async def holds_for(self, ticket_ids: Sequence[int]) -> dict[int, list[TicketHold]]:
        out: dict[int, list[TicketHold]] = {i: [] for i in ticket_ids}
        if ticket_ids:
            stmt = select(TicketHold).where(t.ticket_holds.c.ticket_id.in_(ticket_ids))
            for hold in (await self.s.execute(stmt)).scalars():
                out[hold.ticket_id].append(hold)
        return out

    async def announced_for(self, ticket_ids: Sequence[int]
                            ) -> dict[int, set[tuple[str, str, int]]]:
        c = t.sla_announcements.c
        out: dict[int, set[tuple[str, str, int]]] = {i: set() for i in ticket_ids}
        if ticket_ids:
            rows = await self.s.execute(
                select(c.ticket_id, c.timer, c.kind, c.level).where(c.ticket_id.in_(ticket_ids)))
            for ticket_id, timer, kind, level in rows:
                out[ticket_id].add((timer, kind, level))
        return out

    async def claim_many(self, keys: Sequence[tuple[int, str, str, int]], now: datetime
                         ) -> set[tuple[int, str, str, int]]:
        """Claim many (ticket, timer, kind, level) keys in one statement; returns those this
        call inserted (the others were announced already, by us or another process)."""
        if not keys:
            return set()
        insert = pg_insert if self.dialect == "postgresql" else sqlite_insert
        c = t.sla_announcements.c
        # executemany, not one VALUES list: the statement compiles once and is cached, where
        # a thousand-row VALUES list was compiled afresh on every sweep.
        stmt = (
            insert(t.sla_announcements)
            .on_conflict_do_nothing(index_elements=["ticket_id", "timer", "kind", "level"])
            .returning(c.ticket_id, c.timer, c.kind, c.level)
        )
        rows = [{"ticket_id": k[0], "timer": k[1], "kind": k[2], "level": k[3],
                 "created_at": now} for k in keys]
        return {tuple(r) for r in (await self.s.execute(stmt, rows)).all()}  # type: ignore[misc]

    async def claim(self, ticket_id: int, timer: str, kind: str, level: int,
                    now: datetime) -> bool:
        """The unique key makes a second announcement impossible, whichever process tries."""
        insert = pg_insert if self.dialect == "postgresql" else sqlite_insert
        stmt = (
            insert(t.sla_announcements)
            .values(ticket_id=ticket_id, timer=timer, kind=kind, level=level, created_at=now)
            .on_conflict_do_nothing(index_elements=["ticket_id", "timer", "kind", "level"])
        )
        return bool((await self.s.execute(stmt)).rowcount)


class SqlJobs(_Repo):
    async def first_run_today(self, job: str, day: date, now: datetime) -> bool:
        insert = pg_insert if self.dialect == "postgresql" else sqlite_insert
        stmt = (insert(t.daily_runs).values(job=job, day=day, ran_at=now)
                .on_conflict_do_nothing(index_elements=["job", "day"]))
        return bool((await self.s.execute(stmt)).rowcount)


class SqlRisks(_Repo):
    async def active_expiring_by(self, day: date) -> list[RiskAcceptance]:
        c = t.risk_acceptances.c
        stmt = select(RiskAcceptance).where(c.status == RiskStatus.ACTIVE.value,
                                            c.expires_on <= day).order_by(c.id)
        return list((await self.s.execute(stmt)).scalars())

    async def claim_reminder(self, risk_id: int, today: date) -> bool:
        """Once a day per risk, whichever process asks first."""
        c = t.risk_acceptances.c
        stmt = (update(t.risk_acceptances)
                .where(c.id == risk_id,
                       or_(c.last_reminded_on.is_(None), c.last_reminded_on < today))
                .values(last_reminded_on=today))
        return bool((await self.s.execute(stmt)).rowcount)

    async def with_status(self, status: str) -> list[RiskAcceptance]:
        c = t.risk_acceptances.c
        stmt = select(RiskAcceptance).where(c.status == status).order_by(c.id)
        if self.dialect == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)
        return list((await self.s.execute(stmt)).scalars())


class SqlDigest(_Repo):
    def _open(self) -> Any:
        return t.tickets.c.status.not_in([s.value for s in CLOSED_STATUSES])

    async def open_counts(self) -> list[tuple[str, str, int]]:
        c = t.tickets.c
        rows = await self.s.execute(
            select(c.status, c.priority, func.count()).where(self._open())
            .group_by(c.status, c.priority))
        return [(s.value, p.value, n) for s, p, n in rows]

    async def breached(self, now: datetime) -> int:
        c = t.tickets.c
        stmt = select(func.count()).select_from(t.tickets).where(
            self._open(),
            or_((c.first_response_at.is_(None)) & (c.response_due_at < now),
                (c.resolved_at.is_(None)) & (c.resolution_due_at < now)))
        return int((await self.s.execute(stmt)).scalar_one())

    async def due_between(self, start: datetime, end: datetime) -> int:
        c = t.tickets.c
        stmt = select(func.count()).select_from(t.tickets).where(
            self._open(), c.resolved_at.is_(None), c.resolution_due_at >= start,
            c.resolution_due_at < end)
        return int((await self.s.execute(stmt)).scalar_one())

    async def open_escalations(self) -> list[tuple[str, str, int]]:
        c = t.escalations.c
        rows = await self.s.execute(select(c.scope_type, c.scope_value, c.fault_count)
                                    .where(c.status == "open").order_by(c.fault_count.desc()))
        return [tuple(r) for r in rows]


class SqlFaults(_Repo):
    async def escalated(self, scope: str, values: Sequence[str]) -> set[str]:
        """Which of these values already have an open escalation in this scope."""
        c = t.escalations.c
        found: set[str] = set()
        for part in _chunks(sorted(set(values))):
            keys = [f"{scope}:{value}" for value in part]  # open_scope is unique: indexed
            rows = await self.s.execute(select(c.scope_value).where(
                c.open_scope.in_(keys), c.status == "open"))
            found.update(r[0] for r in rows)
        return found

    async def tickets_since(self, field: str, values: Sequence[str], since: datetime
                            ) -> dict[str, list[int]]:
        """count_since for many values of one field at once: value -> ticket ids."""
        c = t.tickets.c
        column = c[field]
        found: dict[str, list[int]] = {}
        for part in _chunks(sorted(set(values))):
            rows = await self.s.execute(
                select(column, c.id).where(column.in_(part), c.created_at >= since,
                                           c.is_infrastructure.is_(False)).order_by(c.id))
            for value, ticket_id in rows:
                found.setdefault(value, []).append(ticket_id)
        return found

    async def open_escalations(self, wanted: Sequence[EscalationRequest], now: datetime
                               ) -> dict[tuple[str, str], int]:
        """open_escalation for many scopes in one statement; only the newly opened come
        back, so a scope that already has an open escalation is never escalated twice."""
        if not wanted:
            return {}
        insert = pg_insert if self.dialect == "postgresql" else sqlite_insert
        stmt = (insert(t.escalations)
                .on_conflict_do_nothing(index_elements=["open_scope"])
                .returning(t.escalations.c.id, t.escalations.c.open_scope))
        rows = [{"scope_type": w.scope, "scope_value": w.value, "fault_count": w.count,
                 "threshold": w.threshold, "contributing_tickets": w.ticket_ids,
                 "status": "open", "open_scope": f"{w.scope}:{w.value}", "created_at": now}
                for w in wanted]
        opened: dict[tuple[str, str], int] = {}
        for part in _chunks(rows, 200):
            for escalation_id, open_scope in (await self.s.execute(stmt, part)).all():
                scope, _, value = open_scope.partition(":")
                opened[(scope, value)] = escalation_id
        return opened

    async def link_infrastructure(self, escalation_ids: Sequence[int]) -> None:
        """Point each of these escalations at the infrastructure ticket made for it (the
        ticket whose escalation_id it is), in one statement."""
        e, tk = t.escalations, t.tickets
        for part in _chunks(list(escalation_ids)):
            await self.s.execute(update(e)
                                 .where(e.c.id == tk.c.escalation_id, e.c.id.in_(part))
                                 .values(infrastructure_ticket_id=tk.c.id))


class SqlImports(_Repo):
    async def add_report(self, report: dict[str, Any], filename: str | None,
                         user_id: int | None, now: datetime) -> None:
        await self.s.execute(t.import_reports.insert().values(
            uid=report["uid"], report_uid=report["report_uid"], filename=filename,
            dry_run=report["dry_run"], total_rows=report["total_rows"],
            created_count=report["created"], updated_count=report["updated"],
            unchanged_count=report["unchanged"], error_count=report["error_count"],
            warning_count=report["warning_count"],
            issues={"errors": report["errors"], "warnings": report["warnings"]},
            imported_by_id=user_id,
            status="failed" if report["error_count"] == report["total_rows"] > 0
            else "completed",
            created_at=now, finished_at=now))

    async def report(self, uid: str) -> dict[str, Any] | None:
        """A run by its uid, or by its report's `WR{year}-W{week}` (the week's latest run)."""
        c = t.import_reports.c
        stmt = (select(t.import_reports)
                .where(or_(c.uid == uid, c.report_uid == uid.strip().upper()))
                .order_by((c.uid == uid).desc(), c.id.desc()).limit(1))
        row = (await self.s.execute(stmt)).mappings().first()
        if row is None:
            return None
        return {
            "uid": row["uid"], "report_uid": row["report_uid"], "filename": row["filename"],
            "status": row["status"], "total_rows": row["total_rows"],
            "created": row["created_count"], "updated": row["updated_count"],
            "unchanged": row["unchanged_count"], "error_count": row["error_count"],
            "warning_count": row["warning_count"], "errors": row["issues"]["errors"],
            "warnings": row["issues"]["warnings"], "created_at": row["created_at"].isoformat(),
        }
