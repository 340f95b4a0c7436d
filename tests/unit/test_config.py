from __future__ import annotations

import pytest

from bot.config import ConfigError, load_settings


def test_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.chdir(tmp_path)
    s = load_settings()
    assert s.database_url == "sqlite+aiosqlite:///ticketbot.db"
    assert (s.host, s.port) == ("127.0.0.1", 8080)
    assert s.timezone == "Africa/Johannesburg"
    assert s.slack_api_url == "https://slack.com/api/"
    assert s.waha_url == "http://localhost:3000"
    assert s.waha_session == "default"
    assert s.media_dir == "./media"
    assert s.sla_sweep_seconds == 60
    assert not s.slack_enabled and not s.whatsapp_enabled


def test_public_url_defaults_to_the_listen_address(monkeypatch: pytest.MonkeyPatch,
                                                  tmp_path) -> None:
    monkeypatch.chdir(tmp_path)
    assert load_settings().public_base_url == "http://127.0.0.1:8080"
    assert load_settings(host="::1", port=9000).public_base_url == "http://[::1]:9000"
    monkeypatch.setenv("TICKETBOT_PUBLIC_URL", " https://tickets.example.net/ ")
    monkeypatch.setenv("TICKETBOT_MEDIA_LINK_SECRET", "")
    s = load_settings()
    assert s.public_base_url == "https://tickets.example.net"
    assert s.media_link_secret is None


def test_dotenv_is_read(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("TICKETBOT_PORT=9090\nSLACK_BOT_TOKEN=xoxb-1\n"
                                   "SLACK_SIGNING_SECRET=s\n")
    s = load_settings()
    assert s.port == 9090
    assert s.slack_enabled


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("TICKETBOT_PORT", "eighty"),
        ("TICKETBOT_PORT", "70000"),
        ("TICKETBOT_DATABASE_URL", "not a url"),
        ("TICKETBOT_DATABASE_URL", "mysql://x@y/z"),
        ("TICKETBOT_WAHA_URL", "localhost:3000"),
        ("TICKETBOT_SLACK_API_URL", "ftp://slack.com/api/"),
        ("TICKETBOT_TIMEZONE", "Mars/Olympus"),
        ("TICKETBOT_SLA_SWEEP_SECONDS", "soon"),
        ("TICKETBOT_PUBLIC_URL", "tickets.example.net"),
        ("TICKETBOT_MEDIA_LINK_SECRET", "too-short"),
    ],
)
def test_bad_values_name_the_variable(
    monkeypatch: pytest.MonkeyPatch, tmp_path, name: str, value: str
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as info:
        load_settings()
    message = str(info.value)
    assert message.startswith(f"{name}:")
    assert "\n" not in message
