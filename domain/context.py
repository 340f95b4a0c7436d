"""What every service call needs besides the unit of work: who acts, from where, and when."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from domain.enums import Channel, Role
from domain.media_links import MediaLinks
from domain.model import User


@dataclass(frozen=True)
class Actor:
    user: User | None  # None: the system itself (sweeps, imports without a user)
    channel: Channel

    @property
    def id(self) -> int | None:
        return self.user.id if self.user else None

    @property
    def role(self) -> str | None:
        return self.user.role.value if self.user else None

    @property
    def name(self) -> str:
        return self.user.name if self.user else "ticketbot"

    def is_role(self, role: Role) -> bool:
        return self.user is not None and self.user.role is role


@dataclass(frozen=True)
class Context:
    """The clock and the deployment's settings, handed in so that rules stay pure."""

    now: datetime
    timezone: str = "Africa/Johannesburg"
    rx_range: tuple[float, float] = (-28.0, -8.0)
    channels: dict[str, str | None] = field(default_factory=dict)  # sla/approvals/ops ids
    import_uid: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    media_links: MediaLinks | None = None  # signs evidence links on cards; None: no links
