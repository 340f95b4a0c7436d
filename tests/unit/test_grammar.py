"""The shared grammar: every intent in English and Afrikaans, loose refs, and no crashes."""

from __future__ import annotations

import contextlib
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.enums import FaultCause, HandoverType, HoldReason, Priority, RiskType, Status
from handlers import grammar as g
from handlers.grammar import ParseError, is_group_actionable, parse

CASES = [
    ("help", g.Help()),
    ("?", g.Help()),
    ("hulp", g.Help()),
    ("fault DR1234567 no light on ONT", g.NewFault("DR1234567", None, "no light on ONT")),
    ("new DR1234567 urgent fibre cut", g.NewFault("DR1234567", Priority.URGENT, "fibre cut")),
    ("fout DR-1234567 geen lig nie", g.NewFault("DR1234567", None, "geen lig nie")),
    ("nuut dr 12345678 P1 kabel gesny", g.NewFault("DR12345678", Priority.CRITICAL,
                                                    "kabel gesny")),
    ("new", g.NewModal()),
    ("mine", g.ListTickets("mine")),
    ("my tickets", g.ListTickets("mine")),
    ("list", g.ListTickets("mine")),
    ("myne", g.ListTickets("mine")),
    ("list open", g.ListTickets("open")),
    ("list breached", g.ListTickets("breached")),
    ("list unassigned", g.ListTickets("unassigned")),
    ("list zone Z4", g.ListTickets("zone", "Z4")),
    ("list dr DR1234567", g.ListTickets("dr", "DR1234567")),
    ("FF000123", g.Show("FF000123")),
    ("ff123", g.Show("FF000123")),
    ("FF 123", g.Show("FF000123")),
    ("ff-000123", g.Show("FF000123")),
    ("FT406824", g.Show("FT406824")),
    ("status FF000123", g.Show("FF000123")),
    ("show ff123", g.Show("FF000123")),
    ("status FF000123 in_progress", g.SetStatus("FF000123", Status.IN_PROGRESS)),
    ("FF000123 on_hold awaiting_parts", g.SetStatus("FF000123", Status.ON_HOLD,
                                                    "awaiting_parts")),
    ("ack FF000123", g.Ack("FF000123")),
    ("erken", g.Ack(None)),
    ("start FF000123", g.Start("FF000123")),
    ("begin", g.Start(None)),
    ("note FF000123 waiting for ladder", g.Note("FF000123", "waiting for ladder")),
    ("nota wag vir leer", g.Note(None, "wag vir leer")),
    ("step FF000123 9 ok", g.StepEvidence("FF000123", 9, "ok", False)),
    ("stap 6 klaar getoets", g.StepEvidence(None, 6, "klaar getoets", False)),
    ("ont FF000123 alcl1234abcd", g.Reading("FF000123", "ont", "ALCL1234ABCD")),
    ("rx FF000123 -21.4", g.Reading("FF000123", "rx", "-21.4")),
    ("rx -21,4", g.Reading(None, "rx", "-21.4")),
    ("pole FF000123 P-1234", g.Reading("FF000123", "pole", "P-1234")),
    ("paal P-1234", g.Reading(None, "pole", "P-1234")),
    ("pon FF000123 PON-7", g.Reading("FF000123", "pon", "PON-7")),
    ("cause FF000123 workmanship loose connector",
     g.SetCause("FF000123", FaultCause.WORKMANSHIP, "loose connector")),
    ("oorsaak vandalism kabel gesteel", g.SetCause(None, FaultCause.VANDALISM, "kabel gesteel")),
    ("hold FF000123 parts", g.Hold("FF000123", HoldReason.AWAITING_PARTS)),
    ("wag weather reën", g.Hold(None, HoldReason.WEATHER, "reën")),
    ("resume FF000123", g.Resume("FF000123")),
    ("hervat", g.Resume(None)),
    ("risk FF000123 pending_material until 2026-12-15 closure on order",
     g.RiskRequest("FF000123", RiskType.PENDING_MATERIAL, date(2026, 12, 15),
                   "closure on order")),
    ("risiko temporary_fix tot 15/12/2026 tydelike splits",
     g.RiskRequest(None, RiskType.TEMPORARY_FIX, date(2026, 12, 15), "tydelike splits")),
    ("risk approve 12", g.RiskDecision(12, True)),
    ("risk resolve 12 closure fitted", g.RiskResolve(12, "closure fitted")),
    ("risiko opgelos #7 klaar", g.RiskResolve(7, "klaar")),
    ("risk reject 12 not safe", g.RiskDecision(12, False, "not safe")),
    ("done FF000123", g.Done("FF000123")),
    ("klaar", g.Done(None)),
    ("completed", g.Done(None)),
    ("finished FF000123", g.Done("FF000123")),
    ("voltooi", g.Done(None)),
    ("all photos", g.Done(None)),
    ("assign FF000123 @thabo", g.Assign("FF000123", g.Mention(None, "thabo"))),
    ("assign FF000123 <@U123ABC>", g.Assign("FF000123", g.Mention("U123ABC", None))),
    ("assign FF000123 <@U123ABC|thabo>", g.Assign("FF000123", g.Mention("U123ABC", "thabo"))),
    ("take FF000123", g.Take("FF000123")),
    ("priority FF000123 medium", g.SetPriority("FF000123", Priority.NORMAL)),
    ("qa start FF000123", g.QaStart("FF000123")),
    ("qa approve FF000123", g.QaApprove("FF000123")),
    ("qa reject FF000123 photo 3 blurred", g.QaReject("FF000123", "photo 3 blurred")),
    ("handover FF000123 qa", g.Handover("FF000123", HandoverType.BUILD_TO_QA)),
    ("handover FF000123 maintenance", g.Handover("FF000123", HandoverType.QA_TO_MAINTENANCE)),
    ("handover FF000123 complete", g.Handover("FF000123", HandoverType.MAINTENANCE_COMPLETE)),
    ("escalate FF000123 customer furious", g.Escalate("FF000123", "customer furious")),
    ("close FF000123 replaced connector", g.Close("FF000123", "replaced connector")),
    ("reopen FF000123 fault is back", g.Reopen("FF000123", "fault is back")),
    ("cancel FF000123 duplicate", g.Cancel("FF000123", "duplicate")),
    ("/ticket show FF000123", g.Show("FF000123")),
    ("DONE ff-7", g.Done("FF000007")),
]


@pytest.mark.parametrize(("text", "expected"), CASES, ids=[c[0] for c in CASES])
def test_intents(text: str, expected: object) -> None:
    assert parse(text) == expected


@pytest.mark.parametrize(
    ("caption", "expected"),
    [
        ("FF000123 step 3", g.StepEvidence("FF000123", 3, None, True)),
        ("step 3", g.StepEvidence(None, 3, None, True)),
        ("stap 3 ff123", g.StepEvidence("FF000123", 3, None, True)),
        ("step3", g.StepEvidence(None, 3, None, True)),
        ("", g.StepEvidence(None, None, None, True)),
        ("FF000123", g.StepEvidence("FF000123", None, None, True)),
    ],
)
def test_photo_captions(caption: str, expected: object) -> None:
    assert parse(caption, has_media=True) == expected


@pytest.mark.parametrize(
    ("text", "hint"),
    [("dnoe", "done"), ("hepl", "help"), ("staus", "status"), ("strat", "start"),
     ("ntoe", "note")],
)
def test_did_you_mean(text: str, hint: str) -> None:
    with pytest.raises(ParseError) as info:
        parse(text)
    assert f"Did you mean '{hint}'" in info.value.message
    assert info.value.usage


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("fault no light", "Which DR"),
        ("cause FF000123 workmanship", "Say what happened"),
        ("cause FF000123 gremlins broke it", "not a fault cause"),
        ("hold FF000123 lunch", "not a hold reason"),
        ("rx FF000123 lots", "not an Rx level"),
        ("risk FF000123 pending_material closure on order", "Until when"),
        ("risk FF000123 pending_material until tomorrow x", "not a date"),
        ("qa reject FF000123", "why"),
        ("status FF000123 finished-ish", "not a status"),
        ("blah blah", "did not understand"),
        ("", "help"),
    ],
)
def test_errors_say_what_was_wrong_and_how(text: str, fragment: str) -> None:
    with pytest.raises(ParseError) as info:
        parse(text)
    assert fragment in info.value.message
    assert info.value.usage


@pytest.mark.parametrize(
    ("text", "media", "acted_on"),
    [
        ("morning all", False, False),
        ("lol", False, False),
        ("fault DR1234567 pole down", False, True),
        ("done FF000123", False, True),
        ("FF000123", False, True),
        ("ready to go home", False, False),
        ("", True, False),
        ("nice view", True, False),
        ("FF000123 step 3", True, True),
        ("step 4", True, True),
    ],
)
def test_group_filter(text: str, media: bool, acted_on: bool) -> None:
    assert is_group_actionable(text, media) is acted_on


def test_help_texts() -> None:
    assert "fault DR1234567" in g.help_text("whatsapp")
    assert "/ticket" in g.help_text("slack")


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=300), st.booleans())
def test_no_input_crashes_the_parser(text: str, media: bool) -> None:
    try:
        parse(text, has_media=media)
    except ParseError as exc:
        assert exc.message
    is_group_actionable(text, media)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["fault", "DR1234567", "FF000123", "step", "3", "rx", "-21.4",
                                 "risk", "until", "2026-12-15", "qa", "reject", "@x", "<@U1>",
                                 "klaar", "hold", "parts", "ff", "123", "dr", "cause"]),
                max_size=12))
def test_keyword_soup_never_crashes(words: list[str]) -> None:
    with contextlib.suppress(ParseError):
        parse(" ".join(words))


def test_huge_messages_are_cut_not_choked_on() -> None:
    note = parse("note FF000123 " + "a" * 10_000)
    assert isinstance(note, g.Note) and len(note.text) < 4_000
    with pytest.raises(ParseError):
        parse("x" * 10_000)
