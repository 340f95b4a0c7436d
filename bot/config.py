"""Settings from the environment and `.env` (SPEC section 2). The only place that reads them."""

from __future__ import annotations

from functools import cached_property
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AliasChoices, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from yarl import URL

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///ticketbot.db"


def _env(name: str) -> AliasChoices:
    return AliasChoices(name)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    database_url: str = Field(DEFAULT_DATABASE_URL, validation_alias=_env("TICKETBOT_DATABASE_URL"))
    host: str = Field("127.0.0.1", validation_alias=_env("TICKETBOT_HOST"))
    port: int = Field(8080, ge=0, le=65535, validation_alias=_env("TICKETBOT_PORT"))
    timezone: str = Field("Africa/Johannesburg", validation_alias=_env("TICKETBOT_TIMEZONE"))
    slack_bot_token: str | None = Field(None, validation_alias=_env("SLACK_BOT_TOKEN"))
    slack_signing_secret: str | None = Field(None, validation_alias=_env("SLACK_SIGNING_SECRET"))
    slack_api_url: str = Field(
        "https://slack.com/api/", validation_alias=_env("TICKETBOT_SLACK_API_URL")
    )
    slack_sla_channel: str | None = Field(
        None, validation_alias=_env("TICKETBOT_SLACK_SLA_CHANNEL")
    )
    slack_approvals_channel: str | None = Field(
        None, validation_alias=_env("TICKETBOT_SLACK_APPROVALS_CHANNEL")
    )
    slack_ops_channel: str | None = Field(
        None, validation_alias=_env("TICKETBOT_SLACK_OPS_CHANNEL")
    )
    waha_url: str = Field("http://localhost:3000", validation_alias=_env("TICKETBOT_WAHA_URL"))
    waha_api_key: str | None = Field(None, validation_alias=_env("TICKETBOT_WAHA_API_KEY"))
    waha_session: str = Field("default", validation_alias=_env("TICKETBOT_WAHA_SESSION"))
    waha_webhook_hmac_key: str | None = Field(
        None, validation_alias=_env("TICKETBOT_WAHA_WEBHOOK_HMAC_KEY")
    )
    media_dir: str = Field("./media", validation_alias=_env("TICKETBOT_MEDIA_DIR"))
    # Where people reach this service (the signed photo links on Slack cards point here).
    public_url: str | None = Field(None, validation_alias=_env("TICKETBOT_PUBLIC_URL"))
    # Signs those links; unset, a secret generated once and kept in the database is used.
    media_link_secret: str | None = Field(
        None, validation_alias=_env("TICKETBOT_MEDIA_LINK_SECRET")
    )
    sla_sweep_seconds: float = Field(60, gt=0, validation_alias=_env("TICKETBOT_SLA_SWEEP_SECONDS"))

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        try:
            url = make_url(value)
        except ArgumentError as exc:
            raise ValueError(f"not a database URL ({exc})") from None
        if url.drivername not in ("sqlite+aiosqlite", "postgresql+asyncpg"):
            raise ValueError(
                f"driver '{url.drivername}' is not supported: use sqlite+aiosqlite:///FILE "
                "or postgresql+asyncpg://USER@HOST/DB"
            )
        return value

    @field_validator("slack_api_url", "waha_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        try:
            url = URL(value)
        except (ValueError, TypeError):
            raise ValueError("not a URL") from None
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError("must be an http(s) URL with a host")
        return value

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip().rstrip("/")
        try:
            url = URL(value)
        except (ValueError, TypeError):
            raise ValueError("not a URL") from None
        if url.scheme not in ("http", "https") or not url.host or url.query_string:
            raise ValueError("must be an http(s) URL with a host, e.g. https://tickets.example.net")
        return value

    @field_validator("media_link_secret")
    @classmethod
    def _media_link_secret(cls, value: str | None) -> str | None:
        if value is not None and len(value) < 16:
            raise ValueError("must be at least 16 characters")
        return value

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone '{value}'") from None
        return value

    @field_validator(
        "slack_bot_token",
        "slack_signing_secret",
        "slack_sla_channel",
        "slack_approvals_channel",
        "slack_ops_channel",
        "waha_api_key",
        "waha_webhook_hmac_key",
        "public_url",
        "media_link_secret",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @cached_property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def public_base_url(self) -> str:
        """TICKETBOT_PUBLIC_URL, else the listen address."""
        if self.public_url:
            return self.public_url
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def slack_enabled(self) -> bool:
        return bool(self.slack_bot_token and self.slack_signing_secret)

    @property
    def whatsapp_enabled(self) -> bool:
        return bool(self.waha_api_key)


# Field name -> environment variable, for error messages.
ENV_NAMES = {
    name: field.validation_alias.choices[0]  # type: ignore[union-attr]
    for name, field in Settings.model_fields.items()
}


class ConfigError(Exception):
    """A malformed setting; the message is one line naming the variable."""


def load_settings(**overrides: object) -> Settings:
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = err["loc"][0] if err["loc"] else ""
        name = ENV_NAMES.get(str(loc), str(loc))
        msg = err["msg"].removeprefix("Value error, ")
        raise ConfigError(f"{name}: {msg} (got {err.get('input')!r})") from None
