"""WAHA's REST API: sending text, downloading media, resolving hidden @lid sender ids."""

from __future__ import annotations

from typing import Any

import aiohttp

from handlers.transport import DeliveryError, Sent, retry_after_seconds

MAX_MEDIA_BYTES = 10 * 1024 * 1024
TIMEOUT = aiohttp.ClientTimeout(total=15, connect=3)


class MediaError(Exception):
    """A photo or document we could not take: the message is for the technician."""


def _message_id(body: Any) -> str | None:
    """WAHA's send response differs per engine: read the id defensively."""
    if not isinstance(body, dict):
        return None
    mid = body.get("id")
    if isinstance(mid, str):
        return mid
    if isinstance(mid, dict) and isinstance(mid.get("_serialized"), str):
        return mid["_serialized"]
    key = body.get("key")
    if isinstance(key, dict) and isinstance(key.get("id"), str):
        return key["id"]
    return None


class WahaClient:
    def __init__(self, http: aiohttp.ClientSession, base_url: str, api_key: str,
                 session: str) -> None:
        self.http = http
        self.base = base_url.rstrip("/")
        self.headers = {"X-Api-Key": api_key}
        self.session = session

    async def send(self, chat_id: str, text: str) -> Sent:
        body = {"session": self.session, "chatId": chat_id, "text": text}
        try:
            async with self.http.post(f"{self.base}/api/sendText", json=body,
                                      headers=self.headers, timeout=TIMEOUT) as resp:
                if resp.status in (200, 201):
                    try:
                        payload = await resp.json(content_type=None)
                    except ValueError:
                        payload = None
                    return Sent(_message_id(payload))
                detail = (await resp.text())[:300]
                retry_after = retry_after_seconds(resp.headers.get("Retry-After"))
                # 400 is a message WAHA will never accept; everything else may pass later
                # (401 while the key is being fixed, 422 while the session reconnects, 5xx).
                raise DeliveryError(f"WAHA {resp.status}: {detail}",
                                    permanent=resp.status == 400, retry_after=retry_after)
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise DeliveryError(f"WAHA unreachable: {type(exc).__name__} {exc}") from None

    async def download(self, url: str) -> tuple[bytes, str]:
        """The media file behind a webhook's media.url, at most 10 MB."""
        try:
            async with self.http.get(url, headers=self.headers, timeout=TIMEOUT) as resp:
                if resp.status != 200:
                    raise MediaError(f"the photo could not be fetched (WAHA {resp.status})")
                if (resp.content_length or 0) > MAX_MEDIA_BYTES:
                    raise MediaError("the file is larger than 10 MB")
                # read(n) gives what has arrived so far (up to n), not n: read to the end.
                chunks, size = [], 0
                async for chunk in resp.content.iter_chunked(256 * 1024):
                    size += len(chunk)
                    if size > MAX_MEDIA_BYTES:
                        raise MediaError("the file is larger than 10 MB")
                    chunks.append(chunk)
                data = b"".join(chunks)
                return data, resp.headers.get("Content-Type", "application/octet-stream")
        except (TimeoutError, aiohttp.ClientError):
            raise MediaError("the photo could not be fetched from WhatsApp") from None

    async def lid_phone(self, lid: str) -> str | None:
        """Resolve a hidden `...@lid` sender to its phone digits, or None."""
        url = f"{self.base}/api/{self.session}/lids/{lid}"
        try:
            async with self.http.get(url, headers=self.headers, timeout=TIMEOUT) as resp:
                if resp.status != 200:
                    return None
                body = await resp.json(content_type=None)
        except (TimeoutError, aiohttp.ClientError, ValueError):
            return None
        pn = body.get("pn") if isinstance(body, dict) else None
        if isinstance(pn, str) and pn.split("@")[0].isdigit():
            return pn.split("@")[0]
        return None
