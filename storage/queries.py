"""Read-only queries the doors need that are not part of a use case."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain.model import ApiToken, Attachment, AuditEvent, User
from storage import tables as t


async def user_for_token(s: AsyncSession, token_hash: str, now: datetime) -> User | None:
    token = (
        await s.execute(
            select(ApiToken).where(
                t.api_tokens.c.token_hash == token_hash, t.api_tokens.c.revoked_at.is_(None)
            )
        )
    ).scalar_one_or_none()
    if token is None:
        return None
    user = await s.get(User, token.user_id)
    if user is None or not user.active:
        return None
    # Touch at most once a minute: a read-heavy integration should not write on every call.
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        await s.execute(
            update(t.api_tokens).where(t.api_tokens.c.id == token.id).values(last_used_at=now)
        )
        await s.commit()
    return user


async def audit_for_ticket(s: AsyncSession, ticket_id: int) -> list[dict[str, Any]]:
    c = t.audit_events.c
    rows = (
        await s.execute(
            select(AuditEvent, t.users.c.name)
            .outerjoin(t.users, t.users.c.id == c.actor_id)
            .where(c.ticket_id == ticket_id)
            .order_by(c.id)
        )
    ).all()
    return [
        {
            "id": e.id,
            "action": e.action.value,
            "actor": {"id": e.actor_id, "name": name, "role": e.actor_role}
            if e.actor_id
            else None,
            "channel": e.channel.value,
            "old_value": e.old_value,
            "new_value": e.new_value,
            "import_uid": e.import_uid,
            "created_at": e.created_at.isoformat(),
        }
        for e, name in rows
    ]


async def rows_for_ticket(s: AsyncSession, table: Any, ticket_id: int) -> list[dict[str, Any]]:
    rows = (
        await s.execute(select(table).where(table.c.ticket_id == ticket_id).order_by(table.c.id))
    ).mappings()
    return [
        {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in row.items()}
        for row in rows
    ]


async def database_answers(s: AsyncSession) -> bool:
    from sqlalchemy import text

    await s.execute(text("SELECT 1"))
    return True


async def server_secret(s: AsyncSession, name: str, make: Callable[[], str],
                        now: datetime) -> str:
    """The database's secret `name`, made with `make()` the first time anyone asks. Several
    processes asking at once agree: the first insert wins, the others read it."""
    from sqlalchemy.dialects.postgresql import insert as pg_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    c = t.server_secrets.c
    found = (await s.execute(select(c.value).where(c.name == name))).scalar_one_or_none()
    if found is not None:
        return found
    insert = pg_insert if s.bind.dialect.name == "postgresql" else sqlite_insert
    await s.execute(insert(t.server_secrets).values(name=name, value=make(), created_at=now)
                    .on_conflict_do_nothing(index_elements=["name"]))
    await s.commit()
    return (await s.execute(select(c.value).where(c.name == name))).scalar_one()


async def attachment(s: AsyncSession, attachment_id: int) -> tuple[Attachment, str] | None:
    """An attachment and its ticket's ref."""
    row = (await s.execute(
        select(Attachment, t.tickets.c.ref)
        .join(t.tickets, t.tickets.c.id == t.attachments.c.ticket_id)
        .where(t.attachments.c.id == attachment_id)
    )).first()
    return (row[0], row[1]) if row else None
