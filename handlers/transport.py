"""What a delivery transport reports back, shared by the WAHA and Slack clients."""

from __future__ import annotations

from dataclasses import dataclass


class DeliveryError(Exception):
    """A send that did not happen. `retry_after` (seconds) is the server's wish, if it said."""

    def __init__(self, message: str, *, permanent: bool = False,
                 retry_after: float | None = None) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.retry_after = retry_after


@dataclass(frozen=True)
class Sent:
    external_id: str | None


def retry_after_seconds(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
