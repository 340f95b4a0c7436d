"""Photos over HTTP (SPEC 8): downloads with a token, signed links that expire, and the links
on the Slack cards QA and managers read. Photos arrive the real way: WhatsApp through the
webhook, the media served by the fake WAHA."""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from bot.bootstrap import build
from domain.media_links import LinkCheck, MediaLinks
from domain.services.people import create_token
from tests.conftest import Clock
from tests.e2e.conftest import (
    APPROVALS,
    JPEG,
    MANAGER,
    PNG,
    QA,
    THABO,
    SlackRig,
    slack_rig,
)

PUBLIC = "https://tickets.example.net"
STEP1 = PNG + b"step one"
STEP3 = JPEG + b"step three"
OTHER = PNG + b"another ticket"


@pytest.fixture
async def rig(database_url: str, tmp_path: Path, clock: Clock) -> AsyncIterator[SlackRig]:
    async with slack_rig(database_url, tmp_path, clock, public_url=PUBLIC + "/") as rig:
        yield rig


async def turn(rig: SlackRig, text: str | None = None, photo: str | None = None,
               content: bytes = PNG) -> str:
    before = len(rig.waha.texts_to(THABO))
    if photo is not None:
        assert await rig.photo(photo, content) == [200]
    else:
        assert await rig.say(text) == [200]
    return (await rig.replies(before + 1, chat=THABO))[before]


async def two_tickets_with_photos(rig: SlackRig) -> None:
    """FF000001 with photos for steps 1 (attachment 1) and 3 (2); FF000002 with one (3)."""
    assert (await turn(rig, "fault DR1769155 no light on ONT")).startswith("Logged FF000001")
    assert "in progress" in await turn(rig, "start FF000001")
    assert "photo saved" in await turn(rig, photo="FF000001 step 1", content=STEP1)
    assert "photo saved" in await turn(rig, photo="FF000001 step 3", content=STEP3)
    assert (await turn(rig, "fault DR1716390 fibre cut")).startswith("Logged FF000002")
    assert "photo saved" in await turn(rig, photo="FF000002 step 1", content=OTHER)


async def auth(rig: SlackRig, who: str) -> dict[str, str]:
    async with rig.container.uow() as uow:
        token = await create_token(uow, rig.container.context(), getattr(rig.people, who))
        await uow.commit()
    return {"Authorization": f"Bearer {token}"}


async def listed(rig: SlackRig, ref: str, who: str = "qa") -> list[dict]:
    resp = await rig.client.get(f"/api/v1/tickets/{ref}/attachments",
                                headers=await auth(rig, who))
    assert resp.status == 200, await resp.text()
    return (await resp.json())["items"]


def local(url: str) -> str:
    """The path and query of an absolute link, to ask the test server for it."""
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


async def assert_error(resp, status: int, code: str) -> dict:
    assert resp.status == status, await resp.text()
    body = await resp.json()
    assert body["error"]["code"] == code and body["error"]["message"]
    return body


async def test_download_with_a_token(rig: SlackRig) -> None:
    await two_tickets_with_photos(rig)
    items = await listed(rig, "FF000001")
    assert [(i["id"], i["step_number"], i["mimetype"]) for i in items] == [
        (1, 1, "image/png"), (2, 3, "image/jpeg")]
    for who in ("qa", "tech", "contractor"):  # the technician's own ticket; his company's
        headers = await auth(rig, who)
        resp = await rig.client.get("/api/v1/tickets/FF000001/attachments/1", headers=headers)
        assert resp.status == 200, (who, await resp.text())
        assert await resp.read() == STEP1
        digest = hashlib.sha256(STEP1).hexdigest()
        assert resp.headers["Content-Type"] == "image/png"
        assert resp.headers["Content-Length"] == str(len(STEP1))
        assert resp.headers["ETag"] == f'"{digest}"'
        assert resp.headers["Content-Disposition"] == 'inline; filename="FF000001-step1-1.png"'
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
    # By its external form of the ref too, and the JPEG with its own type.
    resp = await rig.client.get("/api/v1/tickets/ff1/attachments/2",
                                headers=await auth(rig, "supervisor"))
    assert resp.status == 200 and await resp.read() == STEP3
    assert resp.headers["Content-Type"] == "image/jpeg"
    assert resp.headers["Content-Disposition"].endswith('filename="FF000001-step3-2.jpg"')
    head = await rig.client.head("/api/v1/tickets/FF000001/attachments/2",
                                 headers=await auth(rig, "qa"))
    assert head.status == 200 and head.headers["Content-Length"] == str(len(STEP3))
    assert await head.read() == b""
    # A cache that holds it already is told so.
    again = await rig.client.get("/api/v1/tickets/FF000001/attachments/2",
                                 headers={**await auth(rig, "qa"),
                                          "If-None-Match": resp.headers["ETag"]})
    assert again.status == 304 and await again.read() == b""


async def test_who_may_download(rig: SlackRig) -> None:
    await two_tickets_with_photos(rig)
    path = "/api/v1/tickets/FF000001/attachments/1"
    await assert_error(await rig.client.get(path), 401, "unauthorized")
    await assert_error(await rig.client.get(path, headers={"Authorization": "Bearer nope"}),
                       401, "unauthorized")
    # A technician of another contractor learns nothing: the same 404 as a missing ticket.
    sipho = await auth(rig, "tech2")
    await assert_error(await rig.client.get(path, headers=sipho), 404, "not_found")
    await assert_error(await rig.client.get("/api/v1/tickets/FF000001/attachments",
                                            headers=sipho), 404, "not_found")
    qa = await auth(rig, "qa")
    # Attachment 3 is FF000002's; 1 is not FF000002's.
    await assert_error(await rig.client.get("/api/v1/tickets/FF000001/attachments/3",
                                            headers=qa), 404, "not_found")
    await assert_error(await rig.client.get("/api/v1/tickets/FF000002/attachments/1",
                                            headers=qa), 404, "not_found")
    for missing in ("/api/v1/tickets/FF000001/attachments/99",
                    "/api/v1/tickets/FF000001/attachments/abc",
                    "/api/v1/tickets/FF000001/attachments/99999999999999999999999",
                    "/api/v1/tickets/FF999999/attachments/1"):
        await assert_error(await rig.client.get(missing, headers=qa), 404, "not_found")
    resp = await rig.client.get("/api/v1/tickets/FF000002/attachments/3", headers=qa)
    assert resp.status == 200 and await resp.read() == OTHER


async def test_signed_links_in_the_list_open_without_a_token(rig: SlackRig) -> None:
    await two_tickets_with_photos(rig)
    items = await listed(rig, "FF000001")
    now = rig.clock.now.timestamp()
    for item, content in zip(items, (STEP1, STEP3), strict=True):
        url = item["url"]
        assert url.startswith(f"{PUBLIC}/media/{item['id']}?expires=")
        query = parse_qs(urlsplit(url).query)
        assert int(query["expires"][0]) == item["url_expires_at"] == int(now) + 7 * 86400
        assert re.fullmatch(r"[0-9a-f]{64}", query["sig"][0])
        resp = await rig.client.get(local(url))  # no Authorization header
        assert resp.status == 200, await resp.text()
        assert await resp.read() == content
        assert resp.headers["ETag"] == f'"{item["sha256"]}"'
        assert resp.headers["Content-Type"] == item["mimetype"]
        assert resp.headers["Content-Length"] == str(item["size"])
    # The technician's own list carries links as well.
    assert [i["id"] for i in await listed(rig, "FF000002", who="tech")] == [3]


async def test_tampered_or_expired_links_are_refused(rig: SlackRig) -> None:
    await two_tickets_with_photos(rig)
    url = (await listed(rig, "FF000001"))[0]["url"]
    query = parse_qs(urlsplit(url).query)
    expires, sig = query["expires"][0], query["sig"][0]
    flipped = sig[:-1] + ("0" if sig[-1] != "0" else "1")

    async def get(attachment_id: int, **params: str):
        return await rig.client.get(f"/media/{attachment_id}?{urlencode(params)}")

    bad = [
        await get(1, expires=expires, sig=flipped),
        await get(2, expires=expires, sig=sig),  # another attachment, this one's signature
        await get(3, expires=expires, sig=sig),  # another ticket's attachment
        await get(1, expires=str(int(expires) + 86400), sig=sig),  # a later expiry
        await get(1, expires=expires),
        await get(1, sig=sig),
        await get(1, expires="-1", sig=sig),
        await get(1, expires=expires, sig="é" * 64),
        await rig.client.get("/media/1"),
    ]
    for resp in bad:
        body = await assert_error(resp, 403, "forbidden")
        assert body["error"]["details"] == {"reason": "bad_signature"}
    # The link works until its last second, and not after.
    rig.clock.advance(days=7, seconds=-1)
    resp = await rig.client.get(local(url))
    assert resp.status == 200 and await resp.read() == STEP1
    rig.clock.advance(seconds=1)
    body = await assert_error(await rig.client.get(local(url)), 403, "forbidden")
    assert body["error"]["details"] == {"reason": "expired"}
    assert "expired" in body["error"]["message"]
    # A fresh list gives a fresh link.
    fresh = (await listed(rig, "FF000001"))[0]["url"]
    resp = await rig.client.get(local(fresh))
    assert resp.status == 200 and await resp.read() == STEP1


async def test_a_valid_link_to_a_missing_attachment_or_file_is_404(rig: SlackRig) -> None:
    await two_tickets_with_photos(rig)
    links = await rig.container.media_links()
    await assert_error(await rig.client.get(links.path(42, rig.clock.now)), 404, "not_found")
    # The database row without its file (a media directory lost): 404, never a 500.
    sha = (await listed(rig, "FF000002"))[0]["sha256"]
    media = Path(rig.container.settings.media_dir)
    (media / sha[:2] / sha).unlink()
    await assert_error(await rig.client.get(links.path(3, rig.clock.now)), 404, "not_found")


async def test_the_secret_is_kept_in_the_database(rig: SlackRig, tmp_path: Path) -> None:
    """Unset TICKETBOT_MEDIA_LINK_SECRET: made once, shared by every process and restart."""
    await two_tickets_with_photos(rig)
    url = (await listed(rig, "FF000001"))[0]["url"]
    query = parse_qs(urlsplit(url).query)
    settings = rig.container.settings
    # Another `serve` process on the same database (or this one after a restart).
    other = build(settings, clock=rig.clock)
    try:
        links = await other.media_links()
        assert links.check(1, query["expires"][0], query["sig"][0], rig.clock.now) \
            is LinkCheck.OK
        assert links.url(1, rig.clock.now) == url
    finally:
        await other.close()
    # A configured secret is used as is, without the database.
    configured = build(settings.model_copy(update={"media_link_secret": "s" * 32}),
                       clock=rig.clock)
    try:
        assert configured.links is not None
        assert configured.links.check(1, query["expires"][0], query["sig"][0],
                                      rig.clock.now) is LinkCheck.BAD_SIGNATURE
        assert configured.links == MediaLinks.from_secret("s" * 32, PUBLIC)
    finally:
        await configured.close()


def card_links(blocks: list[dict]) -> list[tuple[str, str]]:
    """(label, url) of the evidence links in Slack blocks, as Slack would read them."""
    text = " ".join(b["text"]["text"] for b in blocks
                    if b.get("type") == "section" and "Evidence" in b.get("text", {}).get(
                        "text", ""))
    return [(label, html.unescape(url)) for url, label in re.findall(r"<([^|>]+)\|([^>]+)>",
                                                                     text)]


async def test_slack_cards_link_the_evidence(rig: SlackRig) -> None:
    await two_tickets_with_photos(rig)
    # QA reviewing with /ticket show.
    status, card = await rig.command("show FF000001", QA)
    assert status == 200
    links = card_links(card["blocks"])
    assert [label for label, _ in links] == ["step 1 photo", "step 3 photo"]
    for (_, url), content in zip(links, (STEP1, STEP3), strict=True):
        assert url.startswith(f"{PUBLIC}/media/")
        resp = await rig.client.get(local(url))
        assert resp.status == 200 and await resp.read() == content
    # A manager deciding a risk acceptance sees the photos on the approvals card, and still
    # after the decision has replaced the buttons.
    assert "Risk acceptance #1 requested" in await turn(
        rig, "risk FF000001 pending_material until 2026-12-15 closure on order")
    posted = (await rig.slack.wait_for("chat.postMessage"))[0]
    assert posted.args["channel"] == APPROVALS
    assert [label for label, _ in card_links(posted.args["blocks"])] == [
        "step 1 photo", "step 3 photo"]
    resp = await rig.client.get(local(card_links(posted.args["blocks"])[1][1]))
    assert resp.status == 200 and await resp.read() == STEP3
    body, headers = rig.signer.block_action(
        "risk_approve", "1", MANAGER, channel_id=APPROVALS, message_ts="1700000000.000100",
        response_url=rig.slack.response_url())
    assert (await rig.post_slack(body, headers)).status == 200
    update = (await rig.slack.wait_for("chat.update"))[0]
    assert "Approved* by Naledi Mahlangu" in str(update.args["blocks"])
    assert len(card_links(update.args["blocks"])) == 2
    # A ticket without photos has no evidence line.
    await turn(rig, "fault DR1769155 second fault")
    _, card = await rig.command("show FF000003", QA)
    assert card_links(card["blocks"]) == []


async def test_openapi_documents_both_routes(rig: SlackRig) -> None:
    doc = await (await rig.client.get("/api/v1/openapi.json")).json()
    download = doc["paths"]["/api/v1/tickets/{ref}/attachments/{attachment_id}"]["get"]
    assert "404" in download["responses"] and "401" in download["responses"]
    signed = doc["paths"]["/media/{attachment_id}"]["get"]
    assert signed["security"] == []
    assert {p["name"] for p in signed["parameters"]} == {"attachment_id", "expires", "sig"}
    listed_items = doc["paths"]["/api/v1/tickets/{ref}/attachments"]["get"]["responses"]["200"]
    schema = listed_items["content"]["application/json"]["schema"]
    assert "url" in schema["properties"]["items"]["items"]["properties"]


async def test_a_client_that_leaves_mid_download_leaves_nothing_open(rig: SlackRig) -> None:
    big = PNG + bytes(range(256)) * 12_000  # 3 MB: more than the socket buffers hold
    assert (await turn(rig, "fault DR1769155 no light on ONT")).startswith("Logged FF000001")
    assert "photo saved" in await turn(rig, photo="FF000001 step 1", content=big)
    url = (await listed(rig, "FF000001"))[0]["url"]
    for _ in range(3):
        resp = await rig.client.get(local(url))
        assert resp.status == 200 and resp.headers["Content-Length"] == str(len(big))
        assert len(await resp.content.read(1024)) == 1024
        resp.close()  # gone before the end; the file must still be closed (no ResourceWarning)
    resp = await rig.client.get(local(url))
    assert hashlib.sha256(await resp.read()).hexdigest() == hashlib.sha256(big).hexdigest()
