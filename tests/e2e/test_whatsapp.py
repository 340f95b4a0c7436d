"""A technician's whole day over WhatsApp, through the real app and a fake WAHA."""

from __future__ import annotations

import asyncio
import json

from sqlalchemy import func, select

from domain.enums import Source
from storage import tables as t
from tests.e2e.conftest import JPEG, PNG, SIPHO, THABO, WhatsAppRig


async def ticket_row(rig: WhatsAppRig, ref: str = "FF000001") -> dict:
    async with rig.container.uow() as uow:
        row = (await uow.session.execute(select(t.tickets).where(t.tickets.c.ref == ref))
               ).mappings().one()
        return dict(row)


async def count(rig: WhatsAppRig, table) -> int:
    async with rig.container.uow() as uow:
        return (await uow.session.execute(select(func.count()).select_from(table))).scalar_one()


async def test_a_technicians_day_from_fault_to_pending_qa(rig: WhatsAppRig) -> None:
    n = 0

    async def step(text: str | None = None, photo: str | None = None, content: bytes = PNG
                   ) -> str:
        nonlocal n
        statuses = await (rig.photo(photo, content) if photo is not None else rig.say(text))
        assert statuses == [200]
        n += 1
        return await rig.last_reply(n)

    reply = await step("fault DR1769155 no light on ONT")
    assert reply.startswith("Logged FF000001 for DR1769155")
    assert "LAW.P.F280" in reply
    assert "is in progress" in await step("start")
    for number in (1, 3, 4, 5, 7):
        content = PNG if number % 2 else JPEG
        reply = await step(photo=f"step {number}", content=content + bytes([number]))
        assert reply.startswith(f"FF000001: photo saved for step {number}")
    assert "step 2 done" in await step("step 2 ok")
    assert "ONT serial ALCL914C2672 recorded" in await step("ont ALCL914C2672")
    reply = await step("done")
    assert "not ready for QA" in reply and "Rx level not recorded" in reply
    assert "Rx level -21.4 dBm recorded" in await step("rx FF000001 -21,4")
    assert "billing" in await step("cause workmanship loose connector at the ONT")
    assert "paused" in await step("hold parts")
    assert "resumed" in await step("resume")
    assert "Steps 7/7" in await step("step FF000001 6 ok")
    reply = await step("klaar")
    assert reply.startswith("FF000001 passed the readiness check")

    row = await ticket_row(rig)
    assert row["status"].value == "pending_qa"
    assert row["resolved_at"] is not None and row["first_response_at"] is not None
    assert row["ont_rx_level_dbm"] == -21.4
    assert row["fault_cause"].value == "workmanship"
    assert row["billing_classification"] == "contractor_under_guarantee" or row[
        "billing_classification"] is not None
    assert await count(rig, t.attachments) == 5
    assert await count(rig, t.handover_snapshots) == 1
    media = list((rig.container.settings.media_dir and
                  __import__("pathlib").Path(rig.container.settings.media_dir)).rglob("*"))
    assert len([p for p in media if p.is_file()]) == 5
    # every reply names the ticket
    for text in rig.waha.texts_to(THABO):
        assert "FF000001" in text, text


async def test_duplicates_are_processed_once(rig: WhatsAppRig) -> None:
    payload = rig.hook.message_payload(THABO, "fault DR1769155 no light")
    assert await rig.hook.send("message", payload, both_streams=True) == [200, 200]
    assert await rig.hook.send("message", payload) == [200]
    await rig.replies(1)
    assert await count(rig, t.tickets) == 1
    assert len(rig.waha.texts_to(THABO)) == 1


async def test_bad_signatures_are_refused(rig: WhatsAppRig) -> None:
    envelope = rig.hook.envelope("message", rig.hook.message_payload(THABO, "mine"))
    body = json.dumps(envelope).encode()
    headers = rig.hook.headers_for(body, envelope)
    headers["X-Webhook-Hmac"] = "0" * 128
    assert await rig.hook.post_raw(body, headers) == 401
    del headers["X-Webhook-Hmac"]
    assert await rig.hook.post_raw(body, headers) == 401
    assert await count(rig, t.inbound_events) == 0


async def test_group_chatter_is_ignored_keywords_are_not(rig: WhatsAppRig) -> None:
    group = "120363000000000001@g.us"
    assert await rig.say("morning all, traffic is bad", group=group) == [200]
    assert await rig.photo(None, group=group) == [200]
    assert await rig.say("fault DR1769155 pole down", group=group) == [200]
    replies = await rig.replies(1, chat=group)
    assert replies[0].startswith("Logged FF000001")
    assert await count(rig, t.tickets) == 1
    assert rig.waha.texts_to(THABO) == []


async def test_unknown_numbers_get_one_polite_reply_a_day(rig: WhatsAppRig) -> None:
    stranger = "27829999999@c.us"
    for _ in range(3):
        assert await rig.say("hello?", sender=stranger) == [200]
    await rig.replies(1, chat=stranger)
    rig.clock.advance(days=1)
    assert await rig.say("hello again", sender=stranger) == [200]
    replies = await rig.replies(2, chat=stranger)
    assert len(replies) == 2 and "not registered" in replies[0]
    assert await count(rig, t.tickets) == 0


async def test_waha_down_then_up_delivers_exactly_once(rig: WhatsAppRig) -> None:
    rig.waha.set_down(True)
    assert await rig.say("fault DR1769155 no light") == [200]
    import asyncio

    await asyncio.sleep(0.3)
    assert rig.waha.sent == []
    rig.waha.set_down(False)
    # the worker backs off; move the clock past the retry time so it tries again
    rig.clock.advance(seconds=10)
    replies = await rig.replies(1)
    await asyncio.sleep(0.3)
    assert len(rig.waha.texts_to(THABO)) == 1 and replies[0].startswith("Logged FF000001")


async def test_own_messages_acks_and_odd_events(rig: WhatsAppRig) -> None:
    mine = rig.hook.message_payload(THABO, "fault DR1769155 x", from_me=True)
    assert await rig.hook.send("message.any", mine) == [200]
    assert await rig.hook.send("session.status", {"name": "default", "status": "WORKING"}) == [
        200]
    assert await count(rig, t.tickets) == 0
    assert await rig.say("mine") == [200]
    await rig.replies(1)
    external_id = None
    for _ in range(200):  # the worker records WAHA's id just after the send returns
        async with rig.container.uow() as uow:
            external_id = (await uow.session.execute(select(t.outbox.c.external_id))
                           ).scalar_one()
        if external_id:
            break
        await asyncio.sleep(0.01)
    assert external_id
    ack = {"id": external_id, "from": THABO, "fromMe": True, "ack": 3, "ackName": "READ"}
    assert await rig.hook.send("message.ack", ack) == [200]
    late = dict(ack, ack=2, ackName="DEVICE")
    assert await rig.hook.send("message.ack", late) == [200]
    async with rig.container.uow() as uow:
        status = (await uow.session.execute(select(t.outbox.c.delivery_status))).scalar_one()
    assert status == "read"


async def test_malformed_bodies_get_4xx(rig: WhatsAppRig) -> None:
    for body in (b"not json", b"[]", b'{"event": 5}', b'{"event": "message", "payload": 3}',
                 b'{"event": "message", "payload": {"id": "x"}}'):
        headers = rig.hook.headers_for(body, {})
        status = await rig.hook.post_raw(body, headers)
        assert 400 <= status < 500, (body, status)
    huge = json.dumps(rig.hook.envelope("message", rig.hook.message_payload(
        THABO, "x" * (2 * 1024 * 1024)))).encode()
    assert await rig.hook.post_raw(huge, rig.hook.headers_for(huge, {})) == 413


async def test_photo_without_caption_or_context_asks_which_ticket(rig: WhatsAppRig) -> None:
    assert await rig.photo(None) == [200]
    reply = await rig.last_reply(1)
    assert "Which ticket" in reply
    assert await count(rig, t.attachments) == 0


async def test_lid_senders_are_resolved(rig: WhatsAppRig) -> None:
    rig.waha.add_lid("123456789@lid", "27825550102")
    assert await rig.say("mine", sender="123456789@lid") == [200]
    reply = (await rig.replies(1, chat="123456789@lid"))[0]
    assert "no open tickets" in reply
    assert rig.waha.texts_to(SIPHO) == []


async def test_a_technician_takes_an_open_ticket_of_their_contractor(rig: WhatsAppRig) -> None:
    """SPEC 3.10: a technician sees only their own tickets, but may take an open unassigned
    one of their own contractor by naming it; another contractor's stays out of reach."""
    from domain.services import tickets as svc

    velocity = rig.people.tech.contractor_id
    async with rig.container.uow() as uow:
        for dr in ("DR1769155", "DR1716390"):
            await svc.create_ticket(uow, rig.container.context(), rig.people.actor("supervisor"),
                                    svc.NewTicket(dr_number=dr, description="no light",
                                                  source=Source.SLACK))
        found = await uow.tickets.by_refs(["FF000001", "FF000002"])
        found["FF000001"].contractor_id = velocity
        found["FF000002"].contractor_id = rig.people.tech2.contractor_id
        await uow.commit()

    assert await rig.say("show FF000001") == [200]
    assert "No ticket FF000001" in await rig.last_reply(1)  # not theirs: not shown
    assert await rig.say("take FF000002") == [200]
    assert "No ticket FF000002" in await rig.last_reply(2)  # another contractor's
    assert await rig.say("take FF000001") == [200]
    assert await rig.last_reply(3) == "FF000001 is yours now."
    row = await ticket_row(rig, "FF000001")
    assert row["assignee_id"] == rig.people.tech.id and row["status"] == "assigned"
    assert (await ticket_row(rig, "FF000002"))["assignee_id"] is None


async def test_refusals_name_the_ticket_too(rig: WhatsAppRig) -> None:
    """SPEC 5: every reply names the ticket ref, a failed command's included: the one the
    message named, else the one the sender was last talking about."""
    n = 0

    async def turn(text: str) -> str:
        nonlocal n
        assert await rig.say(text) == [200]
        n += 1
        return await rig.last_reply(n)

    assert (await turn("fault DR1769155 no light")).startswith("Logged FF000001")
    reply = await turn("hold ff1 sunshine")
    assert reply.startswith("FF000001: 'sunshine' is not a hold reason"), reply
    reply = await turn("rx")  # no ref: the ticket in context; the example fits the reading
    assert reply.startswith("FF000001: Send the value too: rx FF000123 -21.4"), reply
    reply = await turn("risk pending_material until 2030-01-01 closure")
    assert reply.startswith("FF000001: ") and "90 days" in reply, reply
    # not about the ticket in context: no ref is put on them
    reply = await turn("risk approve 1")
    assert reply == "No risk acceptance #1.", reply
    reply = await turn("fault DR12 no light")
    assert not reply.startswith("FF000001"), reply
