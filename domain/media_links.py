"""Signed links to attachments: open a photo without a token until the link expires (SPEC 8).

A link is `{base_url}/media/{id}?expires={unix}&sig={hex}` where `sig` is HMAC-SHA256, under
a key derived from the server's secret, of the attachment id and the expiry. Plain rules: the
clock comes in as `now`, the secret from the caller.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from urllib.parse import urlencode

from domain.model import Attachment

DEFAULT_TTL = timedelta(days=7)
PATH_PREFIX = "/media/"
# The key is derived from the secret for this one use, so one secret may serve several.
_PURPOSE = b"ticketbot media link v1"


class LinkCheck(Enum):
    OK = "ok"
    BAD_SIGNATURE = "bad_signature"
    EXPIRED = "expired"


def derive_key(secret: str) -> bytes:
    return hmac.new(secret.encode(), _PURPOSE, hashlib.sha256).digest()


@dataclass(frozen=True)
class MediaLinks:
    key: bytes
    base_url: str  # absolute, without a trailing slash: "https://tickets.example.net"
    ttl: timedelta = DEFAULT_TTL

    @classmethod
    def from_secret(cls, secret: str, base_url: str, ttl: timedelta = DEFAULT_TTL
                    ) -> MediaLinks:
        return cls(derive_key(secret), base_url.rstrip("/"), ttl)

    def signature(self, attachment_id: int, expires: int) -> str:
        message = f"{attachment_id}:{expires}".encode()
        return hmac.new(self.key, message, hashlib.sha256).hexdigest()

    def expiry(self, now: datetime) -> int:
        return int(now.timestamp() + self.ttl.total_seconds())

    def path(self, attachment_id: int, now: datetime) -> str:
        expires = self.expiry(now)
        query = urlencode({"expires": expires, "sig": self.signature(attachment_id, expires)})
        return f"{PATH_PREFIX}{attachment_id}?{query}"

    def url(self, attachment_id: int, now: datetime) -> str:
        return self.base_url + self.path(attachment_id, now)

    def check(self, attachment_id: int, expires: str | None, sig: str | None, now: datetime
              ) -> LinkCheck:
        """The signature first (in constant time), then the expiry."""
        if not expires or not sig or not expires.isdigit() or len(expires) > 12:
            return LinkCheck.BAD_SIGNATURE
        expected = self.signature(attachment_id, int(expires)).encode()
        if not hmac.compare_digest(expected, sig.strip().lower().encode("utf-8", "replace")):
            return LinkCheck.BAD_SIGNATURE
        if int(expires) <= now.timestamp():
            return LinkCheck.EXPIRED
        return LinkCheck.OK


@dataclass(frozen=True)
class EvidenceLink:
    label: str
    url: str


def evidence_label(attachment: Attachment) -> str:
    kind = "document" if attachment.mimetype == "application/pdf" else "photo"
    if attachment.step_number is not None:
        return f"step {attachment.step_number} {kind}"
    return kind


def evidence_links(links: MediaLinks | None, attachments: Iterable[Attachment], now: datetime
                   ) -> list[EvidenceLink]:
    """What a card lists as evidence: one signed link per attachment, in upload order."""
    if links is None:
        return []
    out: list[EvidenceLink] = []
    seen: dict[str, int] = {}
    for attachment in attachments:
        if attachment.id is None:
            continue
        label = evidence_label(attachment)
        seen[label] = seen.get(label, 0) + 1
        if seen[label] > 1:
            label = f"{label} {seen[label]}"
        out.append(EvidenceLink(label, links.url(attachment.id, now)))
    return out
