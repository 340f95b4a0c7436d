"""Signed media links as plain rules: what is signed, when it expires, what a card lists."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.media_links import LinkCheck, MediaLinks, evidence_links
from domain.model import Attachment

NOW = datetime(2026, 11, 17, 8, 0, tzinfo=UTC)
LINKS = MediaLinks.from_secret("a-secret-of-some-length", "https://t.example/")


def parts(url: str) -> tuple[int, str, str]:
    path, _, query = url.partition("?")
    params = dict(p.split("=") for p in query.split("&"))
    return int(path.rsplit("/", 1)[1]), params["expires"], params["sig"]


def test_a_link_is_valid_until_it_expires() -> None:
    url = LINKS.url(12, NOW)
    assert url.startswith("https://t.example/media/12?expires=")
    ident, expires, sig = parts(url)
    assert int(expires) == int((NOW + timedelta(days=7)).timestamp())
    assert LINKS.check(ident, expires, sig, NOW) is LinkCheck.OK
    assert LINKS.check(ident, expires, sig.upper(), NOW) is LinkCheck.OK
    last = NOW + timedelta(days=7, seconds=-1)
    assert LINKS.check(ident, expires, sig, last) is LinkCheck.OK
    assert LINKS.check(ident, expires, sig, last + timedelta(seconds=1)) is LinkCheck.EXPIRED


@pytest.mark.parametrize("change", ["id", "expires", "sig", "secret", "empty", "junk"])
def test_anything_changed_is_a_bad_signature(change: str) -> None:
    ident, expires, sig = parts(LINKS.url(12, NOW))
    links = LINKS
    if change == "id":
        ident += 1
    elif change == "expires":
        expires = str(int(expires) + 1)
    elif change == "sig":
        sig = ("1" if sig[0] == "0" else "0") + sig[1:]
    elif change == "secret":
        links = MediaLinks.from_secret("another-secret-entirely", "https://t.example")
    elif change == "empty":
        sig = ""
    else:
        expires, sig = "1e9", "\u00e9" * 64
    assert links.check(ident, expires, sig, NOW) is LinkCheck.BAD_SIGNATURE


def test_an_expired_link_with_a_bad_signature_says_bad_signature() -> None:
    ident, expires, sig = parts(LINKS.url(12, NOW - timedelta(days=30)))
    assert LINKS.check(ident, expires, sig, NOW) is LinkCheck.EXPIRED
    assert LINKS.check(ident, expires, sig[::-1], NOW) is LinkCheck.BAD_SIGNATURE


def test_evidence_links_label_each_photo() -> None:
    def att(i: int, step: int | None, mime: str = "image/png") -> Attachment:
        return Attachment(ticket_id=1, sha256="0" * 64, mimetype=mime, size=1, created_at=NOW,
                          step_number=step, id=i)

    found = evidence_links(LINKS, [att(1, 1), att(2, 3), att(3, 3), att(4, None),
                                   att(5, None, "application/pdf")], NOW)
    assert [e.label for e in found] == ["step 1 photo", "step 3 photo", "step 3 photo 2",
                                        "photo", "document"]
    assert found[1].url == LINKS.url(2, NOW)
    assert evidence_links(None, [att(1, 1)], NOW) == []


def test_a_card_lists_what_fits_and_says_how_many_more() -> None:
    from domain.media_links import EvidenceLink
    from handlers.slack.blocks import evidence_block

    assert evidence_block([]) is None
    one = evidence_block([EvidenceLink("step 1 photo", LINKS.url(1, NOW))])
    assert one is not None
    text = one["text"]["text"]
    assert text.startswith("*Evidence (1):* <https://t.example/media/1?expires=")
    assert "&amp;sig=" in text and text.endswith("|step 1 photo>")
    many = evidence_block([EvidenceLink(f"photo {i}", LINKS.url(i, NOW)) for i in range(60)])
    assert many is not None
    text = many["text"]["text"]
    assert len(text) <= 3000 and text.endswith("more (the ticket's attachments in the API)")
