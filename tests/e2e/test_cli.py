"""The `ticketbot` command as a user runs it: a real process, real files, one-line errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.seed import SHARED

ROOT = Path(__file__).resolve().parents[2]


def run(args: list[str], env_extra: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TICKETBOT_", "SLACK_"))}
    env.update(env_extra)
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def cli(database_url: str, tmp_path: Path):
    env = {"TICKETBOT_DATABASE_URL": database_url, "TICKETBOT_MEDIA_DIR": str(tmp_path / "m")}

    def call(*args: str, **extra: str) -> subprocess.CompletedProcess:
        return run(list(args), {**env, **extra}, tmp_path)

    return call


def test_setup_commands_a_new_user_runs(cli, tmp_path: Path) -> None:
    assert cli("migrate").returncode == 0
    imported = cli("users", "import", str(SHARED / "data" / "users.csv"))
    assert imported.returncode == 0, imported.stderr
    assert "imported 8 people" in imported.stdout
    listing = cli("users", "list").stdout
    assert "27825550101" in listing and "Velocity Build" in listing and "U0ADM00001" in listing
    drs = cli("drs", "import", str(SHARED / "data" / "dr-register.xlsx"))
    assert drs.returncode == 0, drs.stderr
    assert "imported 2000 DRs" in drs.stdout
    # the register's projects are registered with it; adding one then sets its settings
    assert "registered " in drs.stdout and "Lawley" in drs.stdout and "Mamelodi" in drs.stdout
    again = cli("drs", "import", str(SHARED / "data" / "dr-register.xlsx"))
    assert "registered" not in again.stdout
    project = cli("projects", "add", "--name", "Lawley", "--whatsapp-group",
                  "120363000000000001@g.us", "--material-guarantee-days", "400")
    assert project.returncode == 0, project.stderr
    assert project.stdout.startswith("updated project Lawley")
    other = cli("projects", "add", "--name", "Nowhere", "--whatsapp-group",
                "120363000000000001@g.us")
    assert other.returncode != 0 and "already belongs to project Lawley" in other.stderr
    assert cli("projects", "add", "--name", "Nowhere").stdout.startswith("added project")
    token = cli("tokens", "create", "082 555 0106")
    assert token.returncode == 0, token.stderr
    lines = token.stdout.splitlines()
    assert len(lines) == 1 and lines[0].startswith("tb_") and len(lines[0]) > 30
    added = cli("users", "add", "--name", "New Tech", "--role", "technician", "--phone",
                "+27 83 000 0000", "--contractor", "Kasi Splicing")
    assert added.returncode == 0 and "27830000000" in cli("users", "list").stdout


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["users", "add", "--name", "X", "--role", "boss"], "not a role"),
        (["users", "add", "--name", "X", "--role", "technician", "--phone", "12"],
         "not a South African phone number"),
        (["users", "import", "/nonexistent.csv"], "no such file"),
        (["drs", "import", "/etc/hostname"], "expected a .csv or .xlsx"),
        (["tokens", "create", "nobody"], "No registered person"),
        (["projects", "add", "--name", "P", "--whatsapp-group", "123"], "not a WhatsApp group"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_bad_input_is_one_line_and_non_zero(cli, args: list[str], fragment: str) -> None:
    result = cli(*args)
    assert result.returncode != 0
    assert fragment in result.stderr
    assert "Traceback" not in result.stderr
    assert len([line for line in result.stderr.splitlines() if line.startswith("error:")]) == 1


def test_a_broken_workbook_is_refused_cleanly(cli, tmp_path: Path) -> None:
    bad = tmp_path / "register.xlsx"
    bad.write_bytes(b"this is not a zip file")
    result = cli("drs", "import", str(bad))
    assert result.returncode == 2
    assert "not a readable .xlsx workbook" in result.stderr
    assert "Traceback" not in result.stderr


def test_malformed_settings_stop_with_the_variables_name(tmp_path: Path) -> None:
    result = run(["migrate"], {"TICKETBOT_PORT": "eighty"}, tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().startswith("error: TICKETBOT_PORT:")
    assert "Traceback" not in result.stderr


def test_duplicate_people_are_refused(cli) -> None:
    first = cli("users", "add", "--name", "A", "--role", "qa", "--phone", "0821112222")
    assert first.returncode == 0
    again = cli("users", "add", "--name", "B", "--role", "qa", "--phone", "+27821112222")
    assert again.returncode == 1 and "already registered" in again.stderr


def test_python_dash_m_bot_shows_help(tmp_path: Path) -> None:
    result = run(["--help"], {}, tmp_path)
    assert result.returncode == 0 and "serve" in result.stdout


def test_chat_from_a_terminal_uses_the_webhook_path(cli) -> None:
    assert cli("users", "import", str(SHARED / "data" / "users.csv")).returncode == 0
    assert cli("drs", "import", str(SHARED / "data" / "dr-register.xlsx")).returncode == 0
    logged = cli("chat", "--as", "082 555 0101", "--message", "fault DR1769155 no light")
    assert logged.returncode == 0, logged.stderr
    assert logged.stdout.startswith("Logged FF000001 for DR1769155")
    started = cli("chat", "--as", "+27825550101", "--message", "start FF000001")
    assert "FF000001 is in progress" in started.stdout
    shown = cli("chat", "--as", "0825550101", "--message", "ff1")
    assert "FF000001 · in_progress" in shown.stdout
    stranger = cli("chat", "--as", "0820000000", "--message", "hello")
    assert "not registered" in stranger.stdout
    again = cli("chat", "--as", "0820000000", "--message", "hello?")  # once a day, as WhatsApp
    assert again.returncode == 0 and "no reply today" in again.stdout
    # replies printed in the terminal are not also sent to WhatsApp
    assert cli("outbox").stdout.strip() == "nothing waiting to be sent"
    assert cli("outbox", "--failed").stdout.strip() == "no failed messages"
    bad = cli("chat", "--as", "12", "--message", "hi")
    assert bad.returncode == 2 and "not a South African phone number" in bad.stderr


def test_weekly_import_dry_run_then_twice_then_export_round_trip(cli, tmp_path: Path) -> None:
    assert cli("users", "import", str(SHARED / "data" / "users.csv")).returncode == 0
    assert cli("drs", "import", str(SHARED / "data" / "dr-register.xlsx")).returncode == 0
    w47 = str(SHARED / "data" / "weekly-report-2026-W47.xlsx")
    dry = cli("import", "weekly", w47, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "96 created" in dry.stdout and "4 errors" in dry.stdout
    assert cli("export", "tickets", "--format", "csv", "--out",
               str(tmp_path / "none.csv")).stdout.startswith("exported 0 tickets")
    first = cli("import", "weekly", w47)
    assert first.stdout.startswith("import WR2026-W47")
    assert "96 created, 0 updated, 0 unchanged, 4 errors" in first.stdout
    for line in ("row 100 [DR Number]: the row has neither a ref nor a DR number",
                 "row 101 [DR Number]: 'DR12' is not a DR number",
                 "row 102 [Priority]: 'whenever' is not a priority",
                 "row 103 [Status]: 'Exploded' is not a status"):
        assert line in first.stdout
    second = cli("import", "weekly", w47)
    assert "0 created, 0 updated, 96 unchanged" in second.stdout
    for fmt in ("xlsx", "csv"):
        out = tmp_path / f"tickets.{fmt}"
        exported = cli("export", "tickets", "--format", fmt, "--out", str(out))
        assert exported.returncode == 0, exported.stderr
        again = cli("import", "weekly", str(out))
        assert "0 created, 0 updated" in again.stdout and "0 errors" in again.stdout
    # the REST list's filters, people and places by name
    out = tmp_path / "velocity.csv"
    some = cli("export", "tickets", "--format", "csv", "--out", str(out),
               "--contractor", "Velocity Build", "--priority", "high", "--assignee", "none")
    assert some.returncode == 0, some.stderr
    rows = out.read_text().splitlines()[1:]
    assert some.stdout.startswith(f"exported {len(rows)} tickets") and 0 < len(rows) < 96
    assert all(",high," in row and "Velocity Build" in row for row in rows)
    for flag, value, said in (("--sla", "met", "--sla: 'met' is not a valid sla"),
                              ("--assignee", "Nobody Here", "--assignee: ")):
        refused = cli("export", "tickets", "--format", "csv", "--out", str(out), flag, value)
        assert refused.returncode == 2 and said in refused.stderr, refused.stderr
    bad = tmp_path / "bad.xlsx"
    bad.write_text("hello")
    refused = cli("import", "weekly", str(bad))
    assert refused.returncode == 2 and "not an .xlsx workbook" in refused.stderr
