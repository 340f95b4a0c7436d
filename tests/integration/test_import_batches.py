"""The weekly import applied in batches (SPEC 7, 3.9) against real databases.

The batch path (domain.services.imports._Batch) must give exactly what applying the rows one
by one with `apply_row` gives. Many tests here therefore run the same sheet twice: batched
through `import_weekly` in the test's database, and row by row through `apply_row` in a second,
fresh database of the same kind (the `oracle` container), and compare what the two hold.
"""

from __future__ import annotations

import dataclasses
import shutil
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.bootstrap import Container, build
from domain.context import Actor, Context
from domain.enums import Channel
from domain.errors import DomainError
from domain.services import imports
from domain.services.imports import ImportSummary, apply_row, import_weekly
from domain.weekly import validate_row
from handlers.imports.weekly_reader import read_weekly
from storage import tables as t
from tests.conftest import Clock, PgDatabases, make_settings
from tests.seed import SHARED, People, seed_people

IMPORTER = Actor(None, Channel.IMPORT)  # as `ticketbot import weekly` runs it
OPS = "C0OPS00001"
W47 = SHARED / "data" / "weekly-report-2026-W47.xlsx"

# canonical name -> the header text the sheet uses (what the workbook reader hands over)
HEADERS = {
    "ref": "Ref", "external_ref": "FT Ref", "dr": "DR Number", "title": "Title",
    "description": "Description", "type": "Type", "priority": "Priority", "status": "Status",
    "pole": "Pole", "pon": "PON", "zone": "Zone", "project": "Area", "address": "Address",
    "assigned_to": "Assigned To", "contractor": "Contractor", "fault_cause": "Fault Cause",
    "date": "Date",
}

# The clock fixture stands at 2026-11-17. Rows dated OLD started more than 30 days ago, so
# they never count towards repeat faults (SPEC 3.9); rows dated RECENT do.
OLD = date(2026, 9, 1)
RECENT = date(2026, 11, 16)
D1, D2, D3 = "DR2000001", "DR2000002", "DR2000003"  # not in the register: nothing filled in
DR_KNOWN = "DR1769155"  # in the seeded register: pole, PON, zone and address filled in


@dataclass(frozen=True)
class Raw:
    """A sheet row as any reader hands it over (domain.weekly.RawRowLike)."""

    row_number: int
    values: Mapping[str, Any]


def sheet(*rows: Mapping[str, Any]) -> list[Raw]:
    """Rows under a header on row 1, as Excel numbers them."""
    return [Raw(i, dict(values)) for i, values in enumerate(rows, start=2)]


def row(ft: str | None = None, dr: str | None = None, **values: Any) -> dict[str, Any]:
    """One row's cells by canonical name; `date` defaults to OLD (no repeat faults)."""
    cells: dict[str, Any] = {"date": OLD.isoformat(), **values}
    if ft is not None:
        cells["external_ref"] = ft
    if dr is not None:
        cells["dr"] = dr
    return cells


# --- databases ------------------------------------------------------------------------------


@pytest.fixture
async def oracle(database_url: str, tmp_path: Path, sqlite_template: Path,
                 pg_databases: PgDatabases, clock: Clock) -> AsyncIterator[Container]:
    """A second fresh database of the same kind as `container`'s, with the same people."""
    if database_url.startswith("sqlite"):
        path = tmp_path / "oracle.db"
        shutil.copy(sqlite_template, path)
        url = f"sqlite+aiosqlite:///{path}"
    else:
        url = await pg_databases.fresh()
    other = build(make_settings(url, tmp_path / "oracle"), clock=clock)
    await seed_people(other)
    yield other
    await other.close()
    if not database_url.startswith("sqlite"):
        await pg_databases.drop(url)


def ops_context(container: Container) -> Context:
    return dataclasses.replace(container.context(), channels={"ops": OPS})


async def run_import(container: Container, rows: Iterable[Raw], *, dry_run: bool = False,
                     ctx: Context | None = None) -> ImportSummary:
    return await import_weekly(container.uow, ctx or container.context(), IMPORTER, rows,
                               HEADERS, filename="weekly.xlsx", dry_run=dry_run)


def counts(summary: ImportSummary, *, warnings: bool = False) -> dict[str, int]:
    out = {"created": summary.created, "updated": summary.updated,
           "unchanged": summary.unchanged, "errors": len(summary.errors)}
    if warnings:
        out["warnings"] = len(summary.warnings)
    return out


async def apply_one_by_one(container: Container, rows: Iterable[Raw],
                           ctx: Context | None = None) -> dict[str, int]:
    """The reference behaviour: each valid row through `apply_row`, in its own transaction.
    Counts as counts(summary, warnings=True) gives them."""
    tally: Counter[str] = Counter(created=0, updated=0, unchanged=0, errors=0, warnings=0)
    ctx = dataclasses.replace(ctx or container.context(), import_uid="imp_oracle")
    for raw in rows:
        checked = validate_row(raw, HEADERS)
        if checked.row is None:
            tally["errors"] += 1
            continue
        async with container.uow() as uow:
            try:
                outcome = await apply_row(uow, ctx, IMPORTER, checked.row)
            except DomainError:
                tally["errors"] += 1
                continue  # leaving the unit of work rolls the row back
            await uow.commit()
        tally[outcome] += 1
        tally["warnings"] += len(checked.row.warnings)
    return dict(tally)


# --- what a database holds ------------------------------------------------------------------


def plain(value: Any) -> Any:
    return getattr(value, "value", value)


@dataclass
class State:
    """Tickets (in id order), their audit actions, escalations and outbox templates."""

    tickets: list[dict[str, Any]]
    audit: dict[str, list[str]]  # ticket ref -> actions, in order
    escalations: list[tuple[str, str, str]]
    outbox: list[dict[str, Any]] = field(default_factory=list)
    reports: int = 0

    def by_ref(self, ref: str) -> dict[str, Any]:
        return next(tk for tk in self.tickets if tk["ref"] == ref)

    def with_ext(self, external_ref: str) -> list[dict[str, Any]]:
        return [tk for tk in self.tickets if tk["external_ref"] == external_ref]

    def open_on(self, dr: str) -> list[dict[str, Any]]:
        return [tk for tk in self.tickets
                if tk["dr_number"] == dr and tk["status"] not in ("closed", "cancelled")]

    def refs(self) -> list[str]:
        return [tk["ref"] for tk in self.tickets]

    def comparable(self) -> list[tuple[Any, ...]]:
        """What must not depend on batching: every ticket's content and history, without
        refs, ids and the infrastructure tickets' descriptions (they name a ref and a count,
        which legitimately depend on when the check ran)."""
        out: list[tuple[Any, ...]] = []
        for tk in self.tickets:
            out.append((
                tk["title"], tk["external_ref"] or "", tk["dr_number"] or "",
                tk["pole_number"] or "", tk["pon_number"] or "", tk["zone"] or "",
                tk["priority"], tk["status"], tk["ticket_type"], tk["source"],
                tk["is_infrastructure"], tk["assignee_id"] or 0, tk["contractor_id"] or 0,
                str(tk["created_at"]), tk["fault_cause"] or "",
                "" if tk["is_infrastructure"] else (tk["description"] or ""),
                tuple(self.audit.get(tk["ref"], [])),
            ))
        return sorted(out)


async def state(container: Container) -> State:
    async with container.uow() as uow:
        s = uow.session
        assert s is not None
        tickets = [{k: plain(v) for k, v in r.items()} for r in
                   (await s.execute(select(t.tickets).order_by(t.tickets.c.id))).mappings()]
        ref_of = {tk["id"]: tk["ref"] for tk in tickets}
        audit: dict[str, list[str]] = {}
        for ticket_id, action in await s.execute(
                select(t.audit_events.c.ticket_id, t.audit_events.c.action)
                .order_by(t.audit_events.c.id)):
            audit.setdefault(ref_of.get(ticket_id, "-"), []).append(plain(action))
        escalations = [(r.scope_type, r.scope_value, r.status) for r in await s.execute(
            select(t.escalations).order_by(t.escalations.c.id))]
        outbox = [dict(r) for r in
                  (await s.execute(select(t.outbox).order_by(t.outbox.c.id))).mappings()]
        reports = (await s.execute(select(func.count()).select_from(t.import_reports))
                   ).scalar_one()
    return State(tickets, audit, escalations, outbox, reports)


async def assert_same_as_one_by_one(container: Container, oracle: Container,
                                    rows: list[Raw], *, same_refs: bool = False,
                                    same_messages: bool = True,
                                    ctx_of: Callable[[Container], Context] | None = None,
                                    ) -> tuple[State, ImportSummary]:
    """Import `rows` batched into `container`, apply them row by row into `oracle`, and
    check both end the same: counts, ticket contents and histories, escalations, messages
    (and, with same_refs, which ref each ticket got). Returns the batched state and summary."""
    summary = await run_import(container, rows, ctx=ctx_of(container) if ctx_of else None)
    expected = await apply_one_by_one(oracle, rows, ctx_of(oracle) if ctx_of else None)
    assert counts(summary, warnings=True) == expected
    batched, reference = await state(container), await state(oracle)
    assert batched.comparable() == reference.comparable()
    assert sorted(batched.escalations) == sorted(reference.escalations)
    if same_messages:
        def sent(st: State) -> Counter[tuple[str, str, str]]:
            return Counter((m["channel"], m["address"], m["template"]) for m in st.outbox)

        assert sent(batched) == sent(reference)
    if same_refs:
        assert [(tk["ref"], tk["external_ref"], tk["title"]) for tk in batched.tickets] == [
            (tk["ref"], tk["external_ref"], tk["title"]) for tk in reference.tickets]
    return batched, summary


# --- 1. the same external ref twice in one sheet --------------------------------------------


async def test_the_same_external_ref_twice_creates_then_updates_one_ticket(
    container: Container, people: People
) -> None:
    rows = sheet(
        row("FT700001", D1, title="No light", priority="normal"),
        row("FT700002", D2, title="Another fault"),
        row("ft700001", D1, title="No light at all", priority="P1"),  # same ref, loosely typed
    )
    summary = await run_import(container, rows)
    assert counts(summary) == {"created": 2, "updated": 1, "unchanged": 0, "errors": 0}
    after = await state(container)
    [ticket] = after.with_ext("FT700001")
    assert ticket["ref"] == "FF000001"  # refs follow the sheet's order of first appearance
    assert after.by_ref("FF000002")["external_ref"] == "FT700002"
    assert (ticket["title"], ticket["priority"]) == ("No light at all", "critical")
    assert after.audit[ticket["ref"]] == ["imported", "imported", "priority_changed"]
    assert len(after.tickets) == 2


async def test_the_same_external_ref_three_times_with_an_existing_ticket(
    container: Container, oracle: Container, people: People
) -> None:
    """Each occurrence updates the one ticket, in sheet order; the last values win."""
    first = sheet(row("FT700010", D1, title="Before"))
    await run_import(container, first)
    await apply_one_by_one(oracle, first)
    rows = sheet(
        row("FT700010", D1, title="One"),
        row("FT700011", D2, title="New"),
        row("FT700011", D2, title="New, again", priority="high"),
        row("FT700010", D1, title="Two", priority="urgent"),
        row("FT700010", D1, title="Three"),
    )
    after, summary = await assert_same_as_one_by_one(container, oracle, rows)
    assert counts(summary) == {"created": 1, "updated": 4, "unchanged": 0, "errors": 0}
    [ticket] = after.with_ext("FT700010")
    assert (ticket["title"], ticket["priority"]) == ("Three", "urgent")


# --- 2. DR-only rows ------------------------------------------------------------------------


async def test_a_dr_only_row_after_a_new_ticket_on_its_dr_updates_that_ticket(
    container: Container, people: People
) -> None:
    rows = sheet(
        row("FT700101", D1, title="Fibre cut"),
        row(None, D1, title="Fibre cut near the pole", priority="high"),  # neither Ref nor FT
    )
    summary = await run_import(container, rows)
    assert counts(summary) == {"created": 1, "updated": 1, "unchanged": 0, "errors": 0}
    after = await state(container)
    [ticket] = after.open_on(D1)
    assert ticket["external_ref"] == "FT700101"
    assert (ticket["title"], ticket["priority"]) == ("Fibre cut near the pole", "high")
    assert after.audit[ticket["ref"]] == ["imported", "imported", "priority_changed"]


async def test_a_dr_only_row_first_in_the_sheet_creates_and_the_next_one_updates(
    container: Container, oracle: Container, people: People
) -> None:
    rows = sheet(row(None, D1, title="First"), row(None, D1, title="Second"))
    after, summary = await assert_same_as_one_by_one(container, oracle, rows)
    assert counts(summary) == {"created": 1, "updated": 1, "unchanged": 0, "errors": 0}
    [ticket] = after.open_on(D1)
    assert ticket["title"] == "Second"


async def test_a_dr_only_row_on_a_dr_with_two_open_tickets_creates_a_third(
    container: Container, people: People
) -> None:
    await run_import(container, sheet(row("FT700201", D1, title="A"),
                                      row("FT700202", D1, title="B")))
    assert len((await state(container)).open_on(D1)) == 2
    summary = await run_import(container, sheet(row(None, D1, title="Which one?")))
    assert counts(summary) == {"created": 1, "updated": 0, "unchanged": 0, "errors": 0}
    after = await state(container)
    assert [tk["title"] for tk in after.open_on(D1)] == ["A", "B", "Which one?"]
    assert after.by_ref("FF000003")["external_ref"] is None


async def test_a_dr_only_row_within_the_sheet_that_brought_a_second_ticket_creates_a_third(
    container: Container, oracle: Container, people: People
) -> None:
    rows = sheet(
        row("FT700211", D1, title="A"),
        row("FT700212", D1, title="B"),
        row(None, D1, title="Which one?"),
        row(None, D1, title="And this one?"),
    )
    after, summary = await assert_same_as_one_by_one(container, oracle, rows)
    assert counts(summary) == {"created": 4, "updated": 0, "unchanged": 0, "errors": 0}
    assert len(after.open_on(D1)) == 4


# --- 3. order: rows that could change a waiting row's match wait too ------------------------


async def test_a_new_ticket_after_a_waiting_dr_only_row_does_not_overtake_it(
    container: Container, oracle: Container, people: People
) -> None:
    rows = sheet(
        row("FT700301", D1, title="A"),          # creates A on D1
        row(None, D1, title="A, updated"),       # D1 has one open ticket: updates A
        row("FT700302", D1, title="B"),          # creates B on D1 only after that
        row(None, D1, title="C"),                # D1 now has two: creates C
        row("FT700303", D2, title="D"),          # unrelated, goes ahead
    )
    after, summary = await assert_same_as_one_by_one(container, oracle, rows)
    assert counts(summary) == {"created": 4, "updated": 1, "unchanged": 0, "errors": 0}
    assert sorted(tk["title"] for tk in after.open_on(D1)) == ["A, updated", "B", "C"]


async def test_refs_stay_dense_and_unique_when_rows_wait(
    container: Container, oracle: Container, people: People
) -> None:
    """A row that must wait for the next pass gets its ref after the rows written in the pass
    before it (the one documented difference from applying rows one by one): refs stay
    unique and without gaps, and every ticket ends as it would row by row."""
    rows = sheet(
        row("FT700331", D1, title="A"),
        row(None, D1, title="A, updated"),
        row("FT700332", D1, title="B"),
        row(None, D1, title="C"),
        row("FT700333", D2, title="D"),
    )
    after, _ = await assert_same_as_one_by_one(container, oracle, rows)
    assert sorted(after.refs()) == ["FF000001", "FF000002", "FF000003", "FF000004"]
    assert sorted(tk["title"] for tk in after.tickets) == ["A, updated", "B", "C", "D"]
    by_title = {tk["title"]: tk["ref"] for tk in after.tickets}
    # within one pass, refs follow the sheet
    assert by_title["A, updated"] < by_title["B"] < by_title["C"]


async def test_a_waiting_external_ref_keeps_its_later_duplicates_in_order(
    container: Container, oracle: Container, people: People
) -> None:
    rows = sheet(
        row("FT700311", D1, title="v1"),
        row(None, D1, title="v2"),                       # waits for the new ticket
        row("FT700311", D1, title="v3", priority="high"),  # must come after v2
        row(None, D1, title="v4"),
    )
    after, summary = await assert_same_as_one_by_one(container, oracle, rows)
    assert counts(summary) == {"created": 1, "updated": 3, "unchanged": 0, "errors": 0}
    [ticket] = after.tickets
    assert (ticket["title"], ticket["priority"]) == ("v4", "high")


async def test_recent_rows_with_repeat_faults_match_row_by_row(
    container: Container, oracle: Container, people: People
) -> None:
    """DR threshold 2: a second ticket on a DR opens an escalation and an infrastructure
    ticket on that DR, which a later DR-only row must see as one more open ticket."""
    rows = sheet(
        row("FT700321", D1, title="A", date=RECENT.isoformat()),
        row(None, D1, title="A again", date=RECENT.isoformat()),
        row("FT700322", D1, title="B", date=RECENT.isoformat()),
        row(None, D1, title="Which?", date=RECENT.isoformat()),
    )
    after, summary = await assert_same_as_one_by_one(container, oracle, rows)
    assert counts(summary) == {"created": 3, "updated": 1, "unchanged": 0, "errors": 0}
    assert after.escalations == [("dr", D1, "open")]
    assert sum(tk["is_infrastructure"] for tk in after.open_on(D1)) == 1


# --- matches that earlier rows of the same sheet change -------------------------------------


async def test_a_row_that_gives_a_ticket_its_external_ref_is_seen_by_later_rows(
    container: Container, oracle: Container, people: People
) -> None:
    """Row 2 (by Ref) gives FF000001 the external ref FT700401; row 3 (FT Ref only) must then
    update FF000001, as it does row by row, instead of creating a second ticket."""
    first = sheet(row(None, D1, title="Logged in chat"))
    await run_import(container, first)
    await apply_one_by_one(oracle, first)
    rows = sheet(
        row("FT700401", D1, ref="FF000001"),
        row("FT700401", D1, title="Now known by its FT ref", priority="high"),
    )
    after, summary = await assert_same_as_one_by_one(container, oracle, rows)
    assert counts(summary) == {"created": 0, "updated": 2, "unchanged": 0, "errors": 0}
    assert len(after.tickets) == 1


async def test_a_row_that_takes_a_tickets_external_ref_away_is_seen_by_later_rows(
    container: Container, oracle: Container, people: People
) -> None:
    """Row 2 (by Ref) moves FF000001 from FT700402 to FT700403; no ticket carries FT700402
    any more, so row 3 (FT Ref FT700402 only) creates one, as it does row by row."""
    first = sheet(row("FT700402", D1, title="A"))
    await run_import(container, first)
    await apply_one_by_one(oracle, first)
    rows = sheet(
        row("FT700403", D1, ref="FF000001"),
        row("FT700402", D2, title="A different fault"),
    )
    after, summary = await assert_same_as_one_by_one(container, oracle, rows)
    assert counts(summary) == {"created": 1, "updated": 1, "unchanged": 0, "errors": 0}
    assert after.by_ref("FF000001")["external_ref"] == "FT700403"


async def test_a_dr_only_row_sees_a_ticket_cancelled_earlier_in_the_sheet(
    container: Container, oracle: Container, people: People
) -> None:
    """D1 has two open tickets; row 2 cancels one, so row 3 (DR only) has exactly one open
    ticket on D1 to update, as it has row by row."""
    first = sheet(row("FT700411", D1, title="A"), row("FT700412", D1, title="B"))
    await run_import(container, first)
    await apply_one_by_one(oracle, first)
    rows = sheet(
        row("FT700411", D1, status="cancelled"),
        row(None, D1, title="B, updated"),
    )
    after, summary = await assert_same_as_one_by_one(container, oracle, rows)
    assert counts(summary) == {"created": 0, "updated": 2, "unchanged": 0, "errors": 0}
    assert [tk["title"] for tk in after.open_on(D1)] == ["B, updated"]


async def test_a_ref_written_by_an_earlier_row_of_the_same_sheet(
    container: Container, oracle: Container, people: People
) -> None:
    """Row 2 creates FF000001; row 3 names FF000001 in its Ref column. Row by row, row 3
    updates it."""
    rows = sheet(
        row("FT700421", D1, title="New"),
        row(None, None, ref="FF000001", priority="high"),
    )
    after, summary = await assert_same_as_one_by_one(container, oracle, rows)
    assert counts(summary) == {"created": 1, "updated": 1, "unchanged": 0, "errors": 0}
    assert after.by_ref("FF000001")["priority"] == "high"


# --- 4. chunks ------------------------------------------------------------------------------


def mixed_sheet(when: date = OLD) -> list[Raw]:
    """Rows whose matches depend on each other across any chunk boundary: repeated external
    refs, DR-only rows after new tickets on their DR, assignment, a new contractor, a fault
    cause, forward and backward statuses, row errors."""
    d = when.isoformat()
    return sheet(
        row("FT700501", D1, title="A", status="assigned", assigned_to="Thabo Mokoena",
            project="Lawley", date=d),
        row("FT700502", D2, title="B", contractor="Brand New Co", date=d),
        row(None, D1, title="A, by DR", date=d),
        row("FT700501", D1, title="A, by FT", priority="high", status="in progress", date=d),
        row("FT700503", D3, title="C", date=d),
        row(None, D3, title="C, by DR", fault_cause="vandalism", date=d),
        row("FT700504", D2, title="B2", date=d),
        row(None, D2, title="B or B2?", date=d),  # D2 has two open tickets: a new one
        row("FT700502", D2, title="B, again", date=d),
        row(None, None, title="no ref, no DR"),  # a row error
        row(None, D1, priority="P1", date=d),
        row("FT700505", D3, title="E", priority="bogus"),  # a row error
        row("FT700507", DR_KNOWN, title="G", status="cancelled", date=d),
        row("FT700507", DR_KNOWN, status="assigned", date=d),  # never back: a warning
        row(None, DR_KNOWN, title="H", date=d),  # G is cancelled: a new ticket
        row("FT700506", None, title="F", pole="P-9", date=d),
        row("FT700506", None, title="F", pole="P-9", date=d),  # unchanged
    )


# What mixed_sheet() leaves, in the order row by row creates the tickets (so FF000001...).
MIXED_TITLES = ["A, by FT", "B, again", "C, by DR", "B2", "B or B2?", "G", "H", "F"]


async def test_rows_across_chunks_give_what_one_chunk_gives(
    container: Container, oracle: Container, people: People,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rows = mixed_sheet()
    whole = await run_import(oracle, rows)  # CHUNK = 1000: one chunk
    monkeypatch.setattr(imports, "CHUNK", 3)
    chunked = await run_import(container, rows)
    assert counts(chunked, warnings=True) == counts(whole, warnings=True) == {
        "created": 8, "updated": 5, "unchanged": 2, "errors": 2, "warnings": 1}
    assert chunked.total == whole.total == len(rows)
    assert chunked.errors == whole.errors
    # (warnings name refs, and refs have a test of their own below)
    assert [(w.row_number, w.column) for w in chunked.warnings] == [
        (w.row_number, w.column) for w in whole.warnings]
    a, b = await state(container), await state(oracle)
    assert a.comparable() == b.comparable()
    assert sorted(tk["title"] for tk in a.tickets) == sorted(MIXED_TITLES)


async def test_refs_are_dense_and_unique_whatever_the_chunk_size(
    container: Container, oracle: Container, people: People,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rows = mixed_sheet()
    await run_import(oracle, rows)  # one chunk
    monkeypatch.setattr(imports, "CHUNK", 3)
    await run_import(container, rows)
    chunked, whole = await state(container), await state(oracle)
    expected = [f"FF{n:06d}" for n in range(1, len(MIXED_TITLES) + 1)]
    assert sorted(chunked.refs()) == sorted(whole.refs()) == expected
    assert sorted(tk["title"] for tk in chunked.tickets) == sorted(MIXED_TITLES)
    assert chunked.comparable() == whole.comparable()


@pytest.mark.parametrize("chunk", [1, 2, 3, 5])
async def test_the_mixed_sheet_in_chunks_matches_row_by_row(
    container: Container, oracle: Container, people: People,
    monkeypatch: pytest.MonkeyPatch, chunk: int,
) -> None:
    monkeypatch.setattr(imports, "CHUNK", chunk)
    await assert_same_as_one_by_one(container, oracle, mixed_sheet())


async def test_the_mixed_sheet_with_recent_dates_matches_row_by_row(
    container: Container, oracle: Container, people: People
) -> None:
    await assert_same_as_one_by_one(container, oracle, mixed_sheet(RECENT))


async def test_the_w47_sample_batched_matches_row_by_row(
    container: Container, oracle: Container, people: People,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    source = read_weekly(W47)
    raws = [Raw(r.row_number, dict(r.values)) for r in source.rows]
    monkeypatch.setattr(imports, "CHUNK", 40)  # three chunks
    _, summary = await assert_same_as_one_by_one(container, oracle, raws, same_messages=False)
    assert summary.total == 100 and len(summary.errors) == 4
    assert summary.created + summary.updated + summary.unchanged == 96


# --- 5. repeat faults -----------------------------------------------------------------------


def pole_rows(*poles: str, per_pole: int = 3, start: int = 0,
              contractor: str | None = None) -> list[dict[str, Any]]:
    """`per_pole` recent faults on each pole, each with its own FT ref and no DR."""
    cells: list[dict[str, Any]] = []
    n = start
    for pole in poles:
        for _ in range(per_pole):
            n += 1
            extra = {"contractor": contractor} if contractor else {}
            cells.append(row(f"FT71{n:04d}", None, title=f"Fault {n}", pole=pole,
                             date=RECENT.isoformat(), **extra))
    return cells


async def test_three_faults_on_a_pole_open_one_escalation_and_a_reimport_none(
    container: Container, people: People
) -> None:
    rows = sheet(*pole_rows("P-1234"), row("FT719999", None, title="elsewhere", pole="P-1"))
    ctx = ops_context(container)
    summary = await run_import(container, rows, ctx=ctx)
    assert counts(summary) == {"created": 4, "updated": 0, "unchanged": 0, "errors": 0}
    after = await state(container)
    assert after.escalations == [("pole", "P-1234", "open")]
    [infra] = [tk for tk in after.tickets if tk["is_infrastructure"]]
    assert infra["title"] == "Infrastructure investigation: pole P-1234"
    assert (infra["priority"], infra["pole_number"]) == ("high", "P-1234")
    assert infra["escalation_id"] is not None
    assert len(after.tickets) == 5
    assert [(m["address"], m["template"]) for m in after.outbox] == [
        (OPS, "escalation_created")]
    assert infra["ref"] in after.outbox[0]["text"]

    again = await run_import(container, rows, ctx=ctx)
    assert counts(again) == {"created": 0, "updated": 0, "unchanged": 4, "errors": 0}
    final = await state(container)
    assert final.escalations == after.escalations
    assert final.tickets == after.tickets
    assert final.outbox == after.outbox


async def test_two_faults_on_a_pole_open_nothing(container: Container, people: People
                                                 ) -> None:
    await run_import(container, sheet(*pole_rows("P-1", per_pole=2)),
                     ctx=ops_context(container))
    after = await state(container)
    assert after.escalations == [] and after.outbox == []
    assert not any(tk["is_infrastructure"] for tk in after.tickets)


async def test_faults_on_a_pole_across_chunks_open_one_escalation(
    container: Container, people: People, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(imports, "CHUNK", 2)
    await run_import(container, sheet(*pole_rows("P-77", per_pole=5)),
                     ctx=ops_context(container))
    after = await state(container)
    assert after.escalations == [("pole", "P-77", "open")]
    assert sum(tk["is_infrastructure"] for tk in after.tickets) == 1
    assert [m["template"] for m in after.outbox] == ["escalation_created"]


async def test_many_escalations_from_one_batch_reach_ops_and_the_contractor_as_one_list(
    container: Container, people: People
) -> None:
    poles = [f"P-{n}" for n in range(1, 6)]
    rows = sheet(*pole_rows(*poles, contractor="Velocity Build"))
    summary = await run_import(container, rows, ctx=ops_context(container))
    assert summary.created == 15 and summary.errors == []
    after = await state(container)
    assert sorted(after.escalations) == [("pole", p, "open") for p in poles]
    infra = [tk for tk in after.tickets if tk["is_infrastructure"]]
    assert sorted(tk["pole_number"] for tk in infra) == poles
    assert [(m["channel"], m["address"], m["template"]) for m in after.outbox] == [
        ("slack", OPS, "escalations_created"),
        ("whatsapp", "27825550104@c.us", "escalations_created"),  # Pieter, Velocity Build
    ]
    for message in after.outbox:
        assert all(tk["ref"] in message["text"] for tk in infra)
        assert all(p in message["text"] for p in poles)


async def test_fewer_than_four_escalations_are_announced_one_by_one(
    container: Container, people: People
) -> None:
    poles = ["P-1", "P-2", "P-3"]
    rows = sheet(*pole_rows(*poles, contractor="Velocity Build"))
    await run_import(container, rows, ctx=ops_context(container))
    after = await state(container)
    assert len(after.escalations) == 3
    sent = Counter((m["address"], m["template"]) for m in after.outbox)
    assert sent == {(OPS, "escalation_created"): 3,
                    ("27825550104@c.us", "escalation_created"): 3}
    infra = {tk["id"] for tk in after.tickets if tk["is_infrastructure"]}
    assert {m["ticket_id"] for m in after.outbox} == infra


async def test_without_an_ops_channel_only_the_contractor_is_told(
    container: Container, people: People
) -> None:
    rows = sheet(*pole_rows("P-1", "P-2", "P-3", "P-4", contractor="Velocity Build"))
    await run_import(container, rows)  # settings name no ops channel
    after = await state(container)
    assert len(after.escalations) == 4
    assert [(m["address"], m["template"]) for m in after.outbox] == [
        ("27825550104@c.us", "escalations_created")]


async def test_a_scope_with_an_open_escalation_is_not_escalated_again(
    container: Container, people: People
) -> None:
    await run_import(container, sheet(*pole_rows("P-5")), ctx=ops_context(container))
    more = sheet(*pole_rows("P-5", start=10))  # three more faults, new FT refs
    summary = await run_import(container, more, ctx=ops_context(container))
    assert summary.created == 3
    after = await state(container)
    assert after.escalations == [("pole", "P-5", "open")]
    assert sum(tk["is_infrastructure"] for tk in after.tickets) == 1
    assert len(after.outbox) == 1


async def test_repeat_faults_match_row_by_row(
    container: Container, oracle: Container, people: People
) -> None:
    rows = sheet(*pole_rows("P-1", "P-2", per_pole=4, contractor="Velocity Build"),
                 *pole_rows("P-3", per_pole=2, start=50))
    after, _ = await assert_same_as_one_by_one(container, oracle, rows, ctx_of=ops_context)
    assert sorted(after.escalations) == [("pole", "P-1", "open"), ("pole", "P-2", "open")]


# --- 6. dry run -----------------------------------------------------------------------------


async def test_a_dry_run_writes_nothing(container: Container, people: People) -> None:
    before = await state(container)
    rows = sheet(
        row("FT700601", D1, title="A", date=RECENT.isoformat()),
        row("FT700601", D1, title="A again", priority="high", date=RECENT.isoformat()),
        row(None, D1, title="by DR", date=RECENT.isoformat()),
        *pole_rows("P-1", "P-2", "P-3", "P-4", contractor="New Contractor Ltd"),
        row(None, None, title="a row error"),
    )
    summary = await run_import(container, rows, dry_run=True, ctx=ops_context(container))
    assert summary.dry_run
    assert counts(summary) == {"created": 13, "updated": 2, "unchanged": 0, "errors": 1}
    after = await state(container)
    assert after.tickets == before.tickets == []
    assert after.audit == {} and after.outbox == [] and after.escalations == []
    assert after.reports == 0
    async with container.uow() as uow:
        assert uow.session is not None
        assert await uow.users.contractor("New Contractor Ltd") is None
        steps = await uow.session.execute(select(func.count())
                                          .select_from(t.verification_steps))
        assert steps.scalar_one() == 0

    real = await run_import(container, rows, ctx=ops_context(container))
    assert counts(real) == counts(summary)  # the dry run told the truth


async def test_a_dry_run_over_several_chunks_reports_what_the_real_run_does(
    container: Container, people: People, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each chunk of a dry run is rolled back; the next chunk must still be answered as if
    the rows before it had been applied (here: FT700611 created in chunk 1, met again in
    chunk 2)."""
    monkeypatch.setattr(imports, "CHUNK", 2)
    rows = sheet(row("FT700611", D1, title="x"), row("FT700612", D2, title="y"),
                 row("FT700611", D1, title="x, again"))
    dry = await run_import(container, rows, dry_run=True)
    assert (await state(container)).tickets == []
    real = await run_import(container, rows)
    assert counts(real) == {"created": 2, "updated": 1, "unchanged": 0, "errors": 0}
    assert counts(dry) == counts(real)


# --- 7. re-import ---------------------------------------------------------------------------


async def test_importing_the_same_rows_again_changes_nothing(
    container: Container, people: People
) -> None:
    rows = sheet(
        row("FT700701", D1, title="A", priority="high"),
        row("FT700701", D1, title="A", priority="high"),
        row(None, D1, title="A"),
        row("FT700702", D2, title="B", status="assigned", assigned_to="Thabo Mokoena"),
        row(None, D3, title="C"),
        row(None, D3, title="C"),
        *pole_rows("P-8"),
    )
    first = await run_import(container, rows, ctx=ops_context(container))
    assert counts(first) == {"created": 6, "updated": 0, "unchanged": 3, "errors": 0}
    before = await state(container)
    assert before.reports == 1

    again = await run_import(container, rows, ctx=ops_context(container))
    assert counts(again) == {"created": 0, "updated": 0, "unchanged": 9, "errors": 0}
    after = await state(container)
    assert after.tickets == before.tickets
    assert after.audit == before.audit
    assert after.outbox == before.outbox
    assert after.escalations == before.escalations
    assert after.reports == 2


# --- 8. a row the database refuses ----------------------------------------------------------


async def test_a_row_the_database_refuses_costs_only_itself(
    container: Container, people: People
) -> None:
    """A value longer than its column (external_ref is 40 characters) passes every row check;
    PostgreSQL refuses it, which fails the batch, and the chunk goes again row by row. The
    other rows must still be applied (SPEC 7: a bad row never stops the good ones)."""
    too_long = "FT" + "9" * 60
    rows = sheet(
        row("FT700801", D1, title="good 1"),
        row(too_long, D2, title="too long"),
        row("FT700802", D3, title="good 2"),
        row(None, D1, title="good 1, by DR"),
    )
    summary = await run_import(container, rows)
    after = await state(container)
    assert summary.total == 4
    # SQLite does not enforce VARCHAR lengths and stores the row; PostgreSQL must report it
    # as row 3's error. Either way the three good rows are applied.
    assert (summary.created, summary.updated) in ((3, 1), (2, 1))
    assert [e.row_number for e in summary.errors] == ([] if summary.created == 3 else [3])
    assert [tk["title"] for tk in after.with_ext("FT700801")] == ["good 1, by DR"]
    assert [tk["title"] for tk in after.with_ext("FT700802")] == ["good 2"]
    assert after.reports == 1


async def test_assigned_to_takes_a_name_or_a_phone_and_says_when_it_matches_nobody(
    container: Container, oracle: Container, people: People
) -> None:
    rows = sheet(
        row("FT710001", D1, assigned_to="thabo mokoena"),
        row("FT710002", D2, assigned_to="082 555 0102"),
        row("FT710003", D3, assigned_to="Nobody Known"),
    )
    after, summary = await assert_same_as_one_by_one(container, oracle, rows)
    assert counts(summary, warnings=True) == {"created": 3, "updated": 0, "unchanged": 0,
                                              "errors": 0, "warnings": 1}
    [warning] = summary.warnings
    assert (warning.row_number, warning.column) == (4, "Assigned To")
    assert "no registered person 'Nobody Known'" in warning.reason
    assert after.with_ext("FT710001")[0]["assignee_id"] == people.tech.id
    assert after.with_ext("FT710002")[0]["assignee_id"] == people.tech2.id
    assert after.with_ext("FT710003")[0]["assignee_id"] is None


async def test_a_ref_this_database_does_not_know_falls_back_to_the_external_ref(
    container: Container, oracle: Container, people: People
) -> None:
    """SPEC 7: by Ref, else by external ref, otherwise a new ticket. A sheet exported from
    another database names Refs this one never gave out."""
    first = sheet(row("FT710101", D1, title="Known here by its FT ref"))
    await run_import(container, first)
    await apply_one_by_one(oracle, first)
    rows = sheet(
        row("FT710101", D1, ref="FF000777", title="Updated through the FT ref"),
        row("FT710102", D2, ref="FF000778", title="Logged anew"),
        row(None, None, ref="FF000779", priority="high"),  # nothing to match or log it on
    )
    after, summary = await assert_same_as_one_by_one(container, oracle, rows)
    assert counts(summary, warnings=True) == {"created": 1, "updated": 1, "unchanged": 0,
                                              "errors": 1, "warnings": 1}
    assert after.with_ext("FT710101")[0]["title"] == "Updated through the FT ref"
    assert after.with_ext("FT710102")[0]["ref"] == "FF000002"
    [warning] = summary.warnings
    assert (warning.row_number, warning.column) == (3, "Ref")
    [error] = summary.errors
    assert error.row_number == 4 and "no DR number" in error.reason


async def test_an_existing_tickets_people_contractor_project_and_type_apply_too(
    container: Container, oracle: Container, people: People
) -> None:
    """SPEC 7: besides the status, a row's other fields apply to the ticket it matches: whom
    it is assigned to (through `assign`, with its checks and notice), the contractor, the
    project (Area) and the type. A name that matches nothing is a warning, and the rest of
    the row still applies."""
    first = sheet(row("FT710201", D1, title="A"), row("FT710202", D2, title="B"),
                  row("FT710203", D3, title="C", status="closed"))
    await run_import(container, first)
    await apply_one_by_one(oracle, first)
    rows = sheet(
        row("FT710201", D1, assigned_to="Thabo Mokoena", contractor="Kasi Splicing",
            project="Lawley", type="incident"),
        row("FT710202", D2, assigned_to="Nobody Known", project="Atlantis", title="B2"),
        row("FT710203", D3, assigned_to="Thabo Mokoena", title="C2"),
    )
    after, summary = await assert_same_as_one_by_one(container, oracle, rows)
    assert counts(summary, warnings=True) == {"created": 0, "updated": 3, "unchanged": 0,
                                              "errors": 0, "warnings": 4}
    a = after.with_ext("FT710201")[0]
    assert (a["assignee_id"], a["status"], a["ticket_type"]) == (
        people.tech.id, "assigned", "incident")
    assert a["contractor_id"] == people.tech.contractor_id  # the assignee's company wins
    assert a["project_id"] is not None
    b, c = after.with_ext("FT710202")[0], after.with_ext("FT710203")[0]
    assert (b["title"], b["assignee_id"], b["project_id"]) == ("B2", None, None)
    assert (c["title"], c["assignee_id"]) == ("C2", None)
    assert sorted((w.row_number, w.column) for w in summary.warnings) == [
        (2, "Contractor"), (3, "Area"), (3, "Assigned To"), (4, "Assigned To")]
    # the same sheet again changes nothing
    again = await run_import(container, rows)
    assert counts(again) == {"created": 0, "updated": 0, "unchanged": 3, "errors": 0}


async def test_a_new_tickets_unknown_area_is_a_warning(
    container: Container, oracle: Container, people: People
) -> None:
    rows = sheet(row("FT710301", D1, project="Atlantis"), row("FT710302", D2, project="lawley"))
    after, summary = await assert_same_as_one_by_one(container, oracle, rows)
    assert [(w.row_number, w.column) for w in summary.warnings] == [(2, "Area")]
    assert "'Atlantis' is not a registered project" in summary.warnings[0].reason
    assert after.with_ext("FT710301")[0]["project_id"] is None
    assert after.with_ext("FT710302")[0]["project_id"] is not None
