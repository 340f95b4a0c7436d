"""The daily digest to the ops channel (07:30 local), once a day whatever runs it."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from domain.context import Context
from domain.model import OutboundMessage


async def digest_text(uow, ctx: Context) -> str:
    tz = ZoneInfo(ctx.timezone)
    today = ctx.now.astimezone(tz).date()
    start = datetime.combine(today, time(0), tz)
    counts = await uow.digest.open_counts()
    by_status = Counter()
    by_priority = Counter()
    for status, priority, n in counts:
        by_status[status] += n
        by_priority[priority] += n
    total = sum(by_status.values())
    lines = [f"*Daily digest {today.isoformat()}*: {total} open tickets"]
    if by_status:
        lines.append("By status: " + ", ".join(f"{s} {n}" for s, n in by_status.most_common()))
        lines.append("By priority: " + ", ".join(
            f"{p} {by_priority[p]}" for p in ("critical", "urgent", "high", "normal", "low")
            if by_priority[p]))
    lines.append(f"Breached: {await uow.digest.breached(ctx.now)} · due today: "
                 f"{await uow.digest.due_between(start, start + timedelta(days=1))}")
    hotspots = await uow.digest.open_escalations()
    if hotspots:
        lines.append("Repeat-fault hotspots: " + ", ".join(
            f"{scope} {value} ({n})" for scope, value, n in hotspots[:10]))
    return "\n".join(lines)


async def post_digest(uow_factory, ctx: Context) -> int:
    ops = ctx.channels.get("ops")
    if not ops:
        return 0
    today = ctx.now.astimezone(ZoneInfo(ctx.timezone)).date()
    async with uow_factory() as uow:
        if not await uow.jobs.first_run_today("daily_digest", today, ctx.now):
            return 0
        text = await digest_text(uow, ctx)
        await uow.outbox.add(OutboundMessage(channel="slack", address=ops, text=text,
                                             template="daily_digest", created_at=ctx.now,
                                             next_attempt_at=ctx.now))
        await uow.commit()
    return 1
