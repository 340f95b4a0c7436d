"""WAHA's webhook envelope (reference B1), validated leniently: WAHA engines differ, and an
event we cannot read must get a 4xx, never a 500."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError


class Media(BaseModel):
    model_config = ConfigDict(extra="ignore")

    url: str | None = None
    mimetype: str | None = None
    filename: str | None = None


class MessagePayload(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    id: str = Field(min_length=1, max_length=512)
    timestamp: float | None = None
    from_: str = Field(alias="from", min_length=1, max_length=200)
    fromMe: bool = False
    to: str | None = None
    participant: str | None = None
    author: str | None = None
    body: str | None = Field(default=None, max_length=65536)
    hasMedia: bool = False
    media: Media | None = None
    mediaUrl: str | None = None

    @property
    def is_group(self) -> bool:
        return self.from_.endswith("@g.us")

    @property
    def sender(self) -> str:
        """The person who wrote: the participant in a group, the chat itself in a DM."""
        if self.is_group:
            return self.participant or self.author or ""
        return self.from_

    @property
    def media_url(self) -> str | None:
        if self.media and self.media.url:
            return self.media.url
        return self.mediaUrl


class AckPayload(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str = Field(min_length=1, max_length=512)
    ack: int


class Envelope(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str | None = Field(default=None, max_length=200)
    event: str = Field(min_length=1, max_length=100)
    session: str | None = Field(default=None, max_length=200)
    timestamp: float | None = None
    payload: Any = None


class EnvelopeError(ValueError):
    pass


def parse_envelope(data: Any) -> Envelope:
    if not isinstance(data, dict):
        raise EnvelopeError("the body must be a JSON object (a WAHA event envelope)")
    try:
        return Envelope.model_validate(data)
    except ValidationError as exc:
        raise EnvelopeError(_first_error(exc)) from None


def parse_message(payload: Any) -> MessagePayload:
    if not isinstance(payload, dict):
        raise EnvelopeError("payload must be an object")
    try:
        return MessagePayload.model_validate(payload)
    except ValidationError as exc:
        raise EnvelopeError(_first_error(exc)) from None


def parse_ack(payload: Any) -> AckPayload:
    if not isinstance(payload, dict):
        raise EnvelopeError("payload must be an object")
    try:
        return AckPayload.model_validate(payload)
    except ValidationError as exc:
        raise EnvelopeError(_first_error(exc)) from None


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"]) or "body"
    return f"{where}: {err['msg']}"


ACK_STATUS = {-1: "failed", 1: "sent", 2: "delivered", 3: "read", 4: "read"}
