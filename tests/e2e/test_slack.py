"""The cross-channel story: Slack supervisors and QA, a technician on WhatsApp."""

from __future__ import annotations

import asyncio
import time

from sqlalchemy import select

from storage import tables as t
from tests.e2e.conftest import APPROVALS, MANAGER, QA, SIPHO, SUPERVISOR, SlackRig


async def eventually(check, within: float = 5) -> None:
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, "condition never became true"
        await asyncio.sleep(0.02)


async def status_of(rig: SlackRig, ref: str = "FF000001") -> str:
    async with rig.container.uow() as uow:
        row = (await uow.session.execute(
            select(t.tickets.c.status, t.tickets.c.rectification_count)
            .where(t.tickets.c.ref == ref))).one()
    return row[0].value


async def whatsapp_turn(rig: SlackRig, text: str | None = None, photo: str | None = None,
                        sender: str = SIPHO) -> str:
    before = len(rig.waha.texts_to(sender))
    if photo is not None:
        from tests.e2e.conftest import PNG

        await rig.photo(photo, PNG + photo.encode(), sender=sender)
    else:
        await rig.say(text, sender=sender)
    return (await rig.replies(before + 1, chat=sender))[before]


async def fix_everything(rig: SlackRig) -> None:
    assert "in progress" in await whatsapp_turn(rig, "start FF000001")
    for step in (1, 3, 4, 5, 7):
        assert "photo saved" in await whatsapp_turn(rig, photo=f"FF000001 step {step}")
    for text in ("step 2 ok", "step 6 ok", "ont ALCL914C2672", "rx -20.5",
                 "cause workmanship connector not seated"):
        await whatsapp_turn(rig, text)


async def test_the_cross_channel_story(srig: SlackRig) -> None:
    rig = srig
    status, answer = await rig.command("new DR1769155 high no light on ONT", SUPERVISOR)
    assert status == 200 and answer["text"].startswith("Logged FF000001")
    assert answer["response_type"] == "ephemeral"
    _, answer = await rig.command("assign FF000001 <@U0TECH0002|sipho>", SUPERVISOR)
    assert "assigned to Sipho Dlamini" in answer["text"]
    assigned = (await rig.replies(1, chat=SIPHO))[0]
    assert "assigned FF000001" in assigned

    await fix_everything(rig)
    assert "passed the readiness check" in await whatsapp_turn(rig, "done")
    assert await status_of(rig) == "pending_qa"

    n = len(rig.waha.texts_to(SIPHO))
    _, answer = await rig.command("qa reject FF000001 photo of step 3 is blurred", QA)
    assert "rejected (rectification 1)" in answer["text"]
    rejected = (await rig.replies(n + 1, chat=SIPHO))[n]
    assert "rejected by QA" in rejected and "step 3 is blurred" in rejected

    assert "photo saved" in await whatsapp_turn(rig, photo="FF000001 step 3 sharper")
    assert "passed the readiness check" in await whatsapp_turn(rig, "klaar FF000001")

    _, answer = await rig.command("qa approve FF000001", QA)
    assert answer["text"] == "FF000001 approved."
    _, answer = await rig.command("handover FF000001 maintenance", QA)
    assert "handed_to_maintenance" in answer["text"], answer
    _, answer = await rig.command("handover FF000001 complete", SUPERVISOR)
    assert "closed" in answer["text"], answer
    assert await status_of(rig) == "closed"

    _, card = await rig.command("show FF000001", SUPERVISOR)
    assert card["blocks"][0]["type"] == "header"
    assert "7/7" in str(card["blocks"])

    for fragment in ("passed QA", "handed over (qa_to_maintenance)", "is closed"):
        await eventually(lambda f=fragment: any(f in x for x in rig.waha.texts_to(SIPHO)))
    async with rig.container.uow() as uow:
        snaps = (await uow.session.execute(
            select(t.handover_snapshots.c.handover_type, t.handover_snapshots.c.previous_hash,
                   t.handover_snapshots.c.hash).order_by(t.handover_snapshots.c.id))).all()
    assert [s[0] for s in snaps] == ["build_to_qa", "build_to_qa", "qa_to_maintenance",
                                     "maintenance_complete"]
    assert all(snaps[i][1] == snaps[i - 1][2] for i in range(1, len(snaps)))


async def test_a_risk_acceptance_decided_with_buttons(srig: SlackRig) -> None:
    rig = srig
    await rig.command("new DR1769155 no light", SUPERVISOR)
    await rig.command("assign FF000001 <@U0TECH0002>", SUPERVISOR)
    await rig.replies(1, chat=SIPHO)  # the assignment notice
    reply = await whatsapp_turn(rig, "risk FF000001 pending_material until 2026-12-15 "
                                     "closure on order")
    assert "Risk acceptance #1 requested" in reply
    posted = (await rig.slack.wait_for("chat.postMessage"))[0]
    assert posted.args["channel"] == APPROVALS
    buttons = posted.args["blocks"][-1]["elements"]
    assert [b["action_id"] for b in buttons] == ["risk_approve", "risk_reject"]
    assert [b["value"] for b in buttons] == ["1", "1"]

    def click(user: str) -> tuple[bytes, dict]:
        return rig.signer.block_action("risk_approve", "1", user, channel_id=APPROVALS,
                                       message_ts="1700000000.000100",
                                       response_url=rig.slack.response_url())

    before = len(rig.slack.responses)
    resp = await rig.post_slack(*click(QA))
    assert resp.status == 200
    refusal = (await rig.slack.wait_for_response(before + 1))[before]
    assert "Only a manager" in refusal["text"] and refusal["response_type"] == "ephemeral"
    async with rig.container.uow() as uow:
        risk_status = (await uow.session.execute(select(t.risk_acceptances.c.status))).scalar()
    assert risk_status == "pending_approval"

    resp = await rig.post_slack(*click(MANAGER))
    assert resp.status == 200
    update = (await rig.slack.wait_for("chat.update"))[0]
    assert update.args["channel"] == APPROVALS
    assert update.args["ts"] == posted_ts(rig)
    assert "Approved* by Naledi Mahlangu" in str(update.args["blocks"])
    told = await rig.replies(3, chat=SIPHO)
    assert "was approved by Naledi Mahlangu" in told[-1]
    async with rig.container.uow() as uow:
        risk_status = (await uow.session.execute(select(t.risk_acceptances.c.status))).scalar()
    assert risk_status == "active"
    # closing is refused while a risk is active, even once QA approved
    await fix_everything(rig)
    assert "passed the readiness check" in await whatsapp_turn(rig, "done")
    _, answer = await rig.command("qa approve FF000001", QA)
    assert answer["text"] == "FF000001 approved."
    _, answer = await rig.command("close FF000001 done", SUPERVISOR)
    assert "1 active risk acceptance" in answer["text"]
    assert await status_of(rig) == "qa_approved"


def posted_ts(rig: SlackRig) -> str:
    return "1700000000.000100"


async def test_signatures_retries_and_strangers(srig: SlackRig) -> None:
    rig = srig
    body, headers = rig.signer.slash_command("help", SUPERVISOR,
                                             response_url=rig.slack.response_url())
    headers["X-Slack-Signature"] = "v0=" + "0" * 64
    assert (await rig.post_slack(body, headers)).status == 401
    body, headers = rig.signer.slash_command("help", SUPERVISOR,
                                             response_url=rig.slack.response_url(),
                                             ts=int(time.time()) - 301)
    assert (await rig.post_slack(body, headers)).status == 401
    resp = await rig.post_slack(*rig.signer.url_verification("abc"))
    assert resp.status == 200 and (await resp.json()) == {"challenge": "abc"}

    status, answer = await rig.command("help", "U0STRANGER")
    assert status == 200 and "not registered" in answer["text"]

    event = {"type": "app_mention", "user": SUPERVISOR, "text": "<@U0BOT> new DR1769155 fibre cut",
             "ts": "1700000001.000200", "channel": "C0OPS", "event_ts": "1700000001.000200"}
    for retry in (None, 1, 2):
        body, headers = rig.signer.event(event, event_id="Ev0001", retry_num=retry)
        assert (await rig.post_slack(body, headers)).status == 200
    reply = (await rig.slack.wait_for("chat.postMessage"))[0]
    assert reply.args["channel"] == "C0OPS"
    assert reply.args["thread_ts"] == "1700000001.000200"
    assert reply.args["text"].startswith("Logged FF000001")
    await asyncio.sleep(0.3)
    assert len(rig.slack.calls_to("chat.postMessage")) == 1
    async with rig.container.uow() as uow:
        count = len((await uow.session.execute(select(t.tickets.c.id))).all())
    assert count == 1


async def test_new_opens_a_modal_whose_submission_creates_the_ticket(srig: SlackRig) -> None:
    rig = srig
    body, headers = rig.signer.slash_command("new", SUPERVISOR,
                                             response_url=rig.slack.response_url())
    assert (await rig.post_slack(body, headers)).status == 200
    opened = (await rig.slack.wait_for("views.open"))[0]
    assert opened.args["view"]["callback_id"] == "ticket_new"
    bad = {"dr": {"value": {"type": "plain_text_input", "value": "DR12"}},
           "priority": {"value": {"type": "static_select",
                                  "selected_option": {"value": "high"}}},
           "description": {"value": {"type": "plain_text_input", "value": "no light"}}}
    resp = await rig.post_slack(*rig.signer.view_submission("ticket_new", bad, SUPERVISOR))
    assert resp.status == 200 and (await resp.json())["response_action"] == "errors"
    good = dict(bad, dr={"value": {"type": "plain_text_input", "value": "DR1769155"}})
    resp = await rig.post_slack(*rig.signer.view_submission("ticket_new", good, SUPERVISOR))
    assert resp.status == 200
    dm = (await rig.slack.wait_for("chat.postMessage"))[0]
    assert dm.args["channel"] == SUPERVISOR and "Logged FF000001" in dm.args["text"]
    async with rig.container.uow() as uow:
        priority = (await uow.session.execute(select(t.tickets.c.priority))).scalar()
    assert priority.value == "high"


async def test_a_429_storm_loses_and_duplicates_nothing(srig: SlackRig) -> None:
    rig = srig
    rig.slack.rate_limit_for(1.5, retry_after=1)
    for n in range(5):
        event = {"type": "app_mention", "user": SUPERVISOR, "text": f"<@U0BOT> help {n}",
                 "ts": f"1700000002.00{n}", "channel": "C0OPS"}
        body, headers = rig.signer.event(event, event_id=f"Ev10{n}")
        assert (await rig.post_slack(body, headers)).status == 200
    await asyncio.sleep(0.5)
    assert rig.slack.rate_limited_hits > 0
    # the outbox waits out Retry-After; move the clock on so the retries come due
    for _ in range(40):
        rig.clock.advance(seconds=2)
        await asyncio.sleep(0.1)
        if len(rig.slack.calls_to("chat.postMessage")) >= 5:
            break
    posts = rig.slack.calls_to("chat.postMessage")
    assert sorted(p.args["thread_ts"] for p in posts) == [f"1700000002.00{n}" for n in range(5)]
    await asyncio.sleep(0.3)
    assert len(rig.slack.calls_to("chat.postMessage")) == 5


async def test_a_risk_decided_with_the_slash_command_updates_the_card_too(
    srig: SlackRig,
) -> None:
    """SPEC 3.7: whichever way a manager decides, the approvals message shows the outcome in
    place and the requester is told."""
    rig = srig
    await rig.command("new DR1769155 no light", SUPERVISOR)
    await rig.command("assign FF000001 <@U0TECH0002>", SUPERVISOR)
    await rig.replies(1, chat=SIPHO)
    await whatsapp_turn(rig, "risk FF000001 cosmetic_issue until 2026-12-15 scuffed box")
    await rig.slack.wait_for("chat.postMessage")
    _, answer = await rig.command("risk reject 1 fit a new box first", MANAGER)
    assert answer["text"] == "Risk acceptance #1 on FF000001 rejected."
    update = (await rig.slack.wait_for("chat.update"))[0]
    assert update.args["channel"] == APPROVALS and update.args["ts"] == posted_ts(rig)
    assert "Rejected* by Naledi Mahlangu" in str(update.args["blocks"])
    assert "risk_approve" not in str(update.args["blocks"])  # the buttons are gone
    told = await rig.replies(3, chat=SIPHO)
    assert "was rejected by Naledi Mahlangu" in told[-1]


async def test_unsigned_or_garbled_requests_get_4xx_never_500(srig: SlackRig) -> None:
    rig = srig
    body, headers = rig.signer.slash_command("help", SUPERVISOR,
                                             response_url=rig.slack.response_url())
    for drop in ("X-Slack-Request-Timestamp", "X-Slack-Signature"):
        bare = {k: v for k, v in headers.items() if k != drop}
        resp = await rig.post_slack(body, bare)
        assert resp.status == 401 and (await resp.json())["error"]["code"]
    resp = await rig.post_slack(body, {**headers, "X-Slack-Request-Timestamp": "abc"})
    assert resp.status == 401
    resp = await rig.post_slack(body, {**headers, "X-Slack-Signature": "v0=\u00e9"})
    assert resp.status == 401
    for garbled, kind in ((b"{garbage", "application/json"),
                          (b"[1,2]", "application/json"),
                          (b'{"type":"event_callback","event":"x"}', "application/json"),
                          (b"payload=%7Bnot", "application/x-www-form-urlencoded"),
                          (b"payload=%5B1%5D", "application/x-www-form-urlencoded"),
                          (b"\xff\xfe\x00", "application/x-www-form-urlencoded"),
                          (b"", "text/plain")):
        signed = {"Content-Type": kind, **rig.signer.sign(garbled)}
        resp = await rig.post_slack(garbled, signed)
        assert resp.status == 400, await resp.text()


async def test_a_plain_at_ticketbot_mention_is_understood(srig: SlackRig) -> None:
    rig = srig
    await rig.command("new DR1769155 no light", SUPERVISOR)
    event = {"type": "app_mention", "user": SUPERVISOR, "text": "@ticketbot show FF000001",
             "ts": "1700000002.000300", "channel": "C0OPS", "event_ts": "1700000002.000300"}
    body, headers = rig.signer.event(event, event_id="Ev0002")
    assert (await rig.post_slack(body, headers)).status == 200
    reply = (await rig.slack.wait_for("chat.postMessage"))[0]
    assert "FF000001" in reply.args["text"] and "did not understand" not in reply.args["text"]


async def test_events_and_clicks_while_the_database_is_down_get_503(srig: SlackRig) -> None:
    """Answered 200, Slack would never send them again; 503 makes it retry the event and
    shows the clicker that it failed."""
    rig = srig
    real_uow = rig.container.uow

    def broken():
        raise ConnectionRefusedError("the database is down")

    rig.container.uow = broken  # type: ignore[assignment]
    try:
        event = {"type": "app_mention", "user": SUPERVISOR, "text": "<@U0BOT> help",
                 "ts": "1700000003.000400", "channel": "C0OPS",
                 "event_ts": "1700000003.000400"}
        resp = await rig.post_slack(*rig.signer.event(event, event_id="Ev0003"))
        assert resp.status == 503
        click = rig.signer.block_action("risk_approve", "1", MANAGER, channel_id=APPROVALS,
                                        message_ts="1700000000.000100",
                                        response_url=rig.slack.response_url())
        assert (await rig.post_slack(*click)).status == 503
    finally:
        rig.container.uow = real_uow  # type: ignore[assignment]
    resp = await rig.post_slack(*rig.signer.event(event, event_id="Ev0003", retry_num=1))
    assert resp.status == 200  # Slack's retry, once the database is back, is taken in
    reply = (await rig.slack.wait_for("chat.postMessage"))[0]
    assert reply.args["thread_ts"] == "1700000003.000400"


async def test_people_by_phone_local_times_and_a_contractors_list(srig: SlackRig) -> None:
    rig = srig
    await rig.command("new DR1769155 no light", SUPERVISOR)
    _, answer = await rig.command("assign FF000001 082 555 0102", SUPERVISOR)
    assert answer["text"] == "FF000001 assigned to Sipho Dlamini."
    _, answer = await rig.command("show FF000001", SUPERVISOR)
    card = str(answer["blocks"])
    assert "UTC" not in card and "(due " in card  # times as the business reads them
    _, answer = await rig.command("help", "U0STRANGER")
    assert "Slack account is not registered" in answer["text"]
    # a contractor's "mine" is their company's work
    await rig.command("new DR1716390 fibre cut", SUPERVISOR)
    await rig.command("assign FF000002 @thabo", SUPERVISOR)
    _, answer = await rig.command("mine", "U0CONT0001")
    assert "FF000002" in answer["text"] and "FF000001" not in answer["text"]
    _, answer = await rig.command("new DR1769155 more trouble", QA)
    assert "may not" in answer["text"]  # QA inspects; it does not log faults
