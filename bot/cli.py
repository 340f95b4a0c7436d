"""The `ticketbot` command (SPEC section 2). Errors are one line on stderr and a non-zero exit."""

from __future__ import annotations

import argparse
import asyncio
import csv
import logging
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from bot.config import ConfigError, Settings, load_settings
from domain.errors import DomainError

log = logging.getLogger("ticketbot")


class CliError(Exception):
    """A user mistake on the command line: printed as one line, exit status 2."""


def _container(settings: Settings) -> Any:
    from bot.bootstrap import build

    return build(settings)


async def _with_container(settings: Settings, work: Callable[[Any], Awaitable[int]]) -> int:
    from storage.migrate import migrate

    container = _container(settings)
    try:
        await migrate(container.engine)
        return await work(container)
    finally:
        await container.close()


# --- serve / migrate -----------------------------------------------------------------------


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from bot.server import run_server

    overrides = {}
    if args.host:
        overrides["host"] = args.host
    if args.port is not None:
        overrides["port"] = args.port
    if overrides:
        settings = settings.model_copy(update=overrides)
    asyncio.run(run_server(settings))
    return 0


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    from storage.migrate import schema_state

    async def work(container: Any) -> int:
        current, head = await schema_state(container.engine)
        print(f"schema at revision {current} (newest {head})")
        return 0

    return asyncio.run(_with_container(settings, work))


# --- people, projects, DRs, tokens -------------------------------------------------------


def cmd_users_add(args: argparse.Namespace, settings: Settings) -> int:
    from domain.services.people import NewUser, add_user

    async def work(container: Any) -> int:
        async with container.uow() as uow:
            user = await add_user(
                uow,
                container.context(),
                NewUser(args.name, args.role, args.phone, args.slack_id, args.email,
                        args.contractor),
            )
            await uow.commit()
        print(f"added {user.name} ({user.role.value}) as id {user.id}")
        return 0

    return asyncio.run(_with_container(settings, work))


def cmd_users_list(args: argparse.Namespace, settings: Settings) -> int:
    async def work(container: Any) -> int:
        async with container.uow() as uow:
            users = await uow.users.all()
            companies = {}
            for u in users:
                if u.contractor_id and u.contractor_id not in companies:
                    c = await uow.users.contractor_by_id(u.contractor_id)
                    companies[u.contractor_id] = c.name if c else ""
        rows = [("id", "name", "role", "phone", "slack_id", "email", "contractor")]
        for u in users:
            rows.append((str(u.id), u.name, u.role.value, u.phone or "", u.slack_id or "",
                         u.email or "", companies.get(u.contractor_id, "")))
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        for r in rows:
            print("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip())
        return 0

    return asyncio.run(_with_container(settings, work))


def _read_table(path: Path) -> list[dict[str, Any]]:
    """Rows of a .csv or .xlsx file keyed by lower-case header (first sheet for xlsx)."""
    if not path.exists():
        raise CliError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            return [{(k or "").strip().lower(): v for k, v in row.items()} for row in reader]
    if suffix in (".xlsx", ".xlsm"):
        import zipfile

        from openpyxl import load_workbook

        try:
            wb = load_workbook(path, read_only=True, data_only=True)
        except (zipfile.BadZipFile, OSError, KeyError, ValueError) as exc:
            raise CliError(f"{path}: not a readable .xlsx workbook ({exc})") from None
        try:
            rows = wb.worksheets[0].iter_rows(values_only=True)
            header = next(rows, None)
            if header is None:
                return []
            keys = [str(h or "").strip().lower() for h in header]
            return [dict(zip(keys, r, strict=False)) for r in rows if any(v is not None for v in r)]
        finally:
            wb.close()
    raise CliError(f"{path}: expected a .csv or .xlsx file")


def cmd_users_import(args: argparse.Namespace, settings: Settings) -> int:
    from domain.services.people import NewUser, add_user

    rows = _read_table(Path(args.file))

    async def work(container: Any) -> int:
        added, failed = 0, 0
        for n, row in enumerate(rows, start=2):
            def cell(name: str, row: dict = row) -> str | None:
                v = row.get(name)
                return None if v is None or str(v).strip() == "" else str(v).strip()

            try:
                async with container.uow() as uow:
                    await add_user(uow, container.context(), NewUser(
                        cell("name") or "", cell("role") or "", cell("phone"),
                        cell("slack_id"), cell("email"), cell("contractor")))
                    await uow.commit()
                added += 1
            except DomainError as exc:
                failed += 1
                print(f"row {n}: {exc.message}", file=sys.stderr)
        print(f"imported {added} people, {failed} rows refused")
        return 0 if failed == 0 else 1

    return asyncio.run(_with_container(settings, work))


def cmd_projects_add(args: argparse.Namespace, settings: Settings) -> int:
    from domain.services.people import add_project

    async def work(container: Any) -> int:
        async with container.uow() as uow:
            project, new = await add_project(
                uow, args.name, args.whatsapp_group, args.installation_guarantee_days,
                args.material_guarantee_days,
            )
            await uow.commit()
        print(f"{'added' if new else 'updated'} project {project.name} as id {project.id}")
        return 0

    return asyncio.run(_with_container(settings, work))


def cmd_drs_import(args: argparse.Namespace, settings: Settings) -> int:
    from domain.services.register import parse_register_rows

    rows = _read_table(Path(args.file))
    records, problems = parse_register_rows(rows)
    for problem in problems:
        print(problem, file=sys.stderr)

    async def work(container: Any) -> int:
        from domain.services.people import register_projects

        async with container.uow() as uow:
            count = await uow.drs.upsert_many(records)
            added = await register_projects(uow, (r.project for r in records))
            await uow.commit()
        print(f"imported {count} DRs, {len(problems)} rows refused")
        if added:
            print(f"registered {len(added)} new projects: {', '.join(added)} (set their "
                  f"WhatsApp group and guarantees with 'ticketbot projects add --name ...')")
        return 0 if not problems else 1

    return asyncio.run(_with_container(settings, work))


def cmd_tokens_create(args: argparse.Namespace, settings: Settings) -> int:
    from domain.services.people import create_token, find_user

    async def work(container: Any) -> int:
        async with container.uow() as uow:
            user = await find_user(uow, args.user)
            token = await create_token(uow, container.context(), user, args.name)
            await uow.commit()
        print(token)
        return 0

    return asyncio.run(_with_container(settings, work))


# --- chat and outbox -----------------------------------------------------------------------


def cmd_chat(args: argparse.Namespace, settings: Settings) -> int:
    """Talk to the bot as a WhatsApp user: the webhook's own code path, replies printed."""
    from domain import refs
    from domain.enums import Channel
    from handlers.chat import Inbound, respond

    try:
        phone = refs.normalise_phone(args.as_phone)
    except refs.PhoneError as exc:
        raise CliError(str(exc)) from None

    async def one(container: Any, text: str) -> None:
        import uuid

        inbound = Inbound(channel=Channel.WHATSAPP, text=text, address=f"{phone}@c.us",
                          sender_phone=phone, dedupe_key=f"cli:{uuid.uuid4().hex}")
        outcome = await respond(container, inbound, reply_by_outbox=False)
        for reply in outcome.replies:
            print(reply)
        if outcome.status == "unknown_sender" and not outcome.replies:
            print("(this number is not registered; no reply today)")

    async def work(container: Any) -> int:
        if args.message is not None:
            await one(container, args.message)
            return 0
        print(f"Talking to ticketbot as {phone}. Type 'help'; an empty line or Ctrl-D ends.")
        loop = asyncio.get_running_loop()
        while True:
            line = await loop.run_in_executor(None, _prompt)
            if line is None or not line.strip():
                return 0
            await one(container, line)
            print()

    return asyncio.run(_with_container(settings, work))


def _prompt() -> str | None:
    try:
        return input("> ")
    except EOFError:
        return None


def cmd_outbox(args: argparse.Namespace, settings: Settings) -> int:
    from storage import outbox_store

    async def work(container: Any) -> int:
        async with container.uow() as uow:
            rows = await outbox_store.listing(uow.session, failed=args.failed)
        if not rows:
            print("no failed messages" if args.failed else "nothing waiting to be sent")
            return 0
        for r in rows:
            text = " ".join(r["text"].split())[:60]
            error = f"  [{r['last_error'][:80]}]" if r["last_error"] else ""
            print(f"#{r['id']} {r['status']} {r['channel']} {r['address']} "
                  f"tries={r['attempts']} {r['created_at']:%Y-%m-%d %H:%M} {text}{error}")
        return 0

    return asyncio.run(_with_container(settings, work))


def cmd_sla_sweep(args: argparse.Namespace, settings: Settings) -> int:
    """One sweep as if the clock read --at, then deliver what it produced, then exit."""
    from datetime import datetime

    from aiohttp import ClientSession

    from bot.app import build_transports
    from domain.services.sla_engine import sweep
    from handlers.delivery import DeliveryWorker

    at = None
    if args.at:
        try:
            at = datetime.fromisoformat(args.at)
        except ValueError:
            raise CliError(f"--at: '{args.at}' is not an ISO-8601 time "
                           "(e.g. 2026-11-23T09:30 or 2026-11-23T07:30:00Z)") from None
        if at.tzinfo is None:
            at = at.replace(tzinfo=settings.tz)

    async def work(container: Any) -> int:
        if at is not None:
            container.clock = lambda: at
        report = await sweep(container.uow, container.context())
        async with ClientSession() as http:
            transports = build_transports(container, http)
            delivered = await DeliveryWorker(container.sessions, transports,
                                             container.clock).drain()
        print(f"sweep at {container.clock().isoformat()}: looked at {report.looked_at} "
              f"ticket(s), {len(report.announcements)} announcement(s), "
              f"{delivered} message(s) sent")
        for line in report.announcements:
            print(f"- {line}")
        return 0

    return asyncio.run(_with_container(settings, work))


# --- weekly import and exports --------------------------------------------------------------


def _print_report(report: dict[str, Any]) -> None:
    kind = "dry run of" if report["dry_run"] else "import"
    print(f"{kind} {report['report_uid']} ({report['uid']}): {report['total_rows']} rows, "
          f"{report['created']} created, {report['updated']} updated, "
          f"{report['unchanged']} unchanged, {report['error_count']} errors, "
          f"{report['warning_count']} warnings")
    for issue in report["errors"]:
        print(f"  error   row {issue['row']} [{issue['column']}]: {issue['reason']}")
    for issue in report["warnings"]:
        print(f"  warning row {issue['row']} [{issue['column']}]: {issue['reason']}")


def cmd_import_weekly(args: argparse.Namespace, settings: Settings) -> int:
    from domain.context import Actor
    from domain.enums import Channel
    from domain.services.imports import import_weekly
    from handlers.imports.reader_process import rows_in_child
    from handlers.imports.weekly_reader import WorkbookError, read_weekly

    path = Path(args.file)
    if not path.exists():
        raise CliError(f"{path}: no such file")
    try:
        sheet = read_weekly(str(path))  # a file that is not a workbook is refused here
        sheet.close()
    except WorkbookError as exc:
        raise CliError(f"{path}: {exc}") from None
    show = sys.stderr.isatty()

    def progress(n: int) -> None:
        if show:
            print(f"\r{n} rows read", end="", file=sys.stderr, flush=True)

    async def work(container: Any) -> int:
        try:
            summary = await import_weekly(container.uow, container.context(),
                                          Actor(None, Channel.IMPORT), rows_in_child(str(path)),
                                          sheet.columns, filename=path.name,
                                          dry_run=args.dry_run, progress=progress)
        except WorkbookError as exc:
            # Damage found part-way: the rows before it were applied (and can be re-imported).
            raise CliError(f"{path}: {exc}") from None
        if show:
            print(file=sys.stderr)
        _print_report(summary.to_json())
        return 0

    return asyncio.run(_with_container(settings, work))


def export_params(args: argparse.Namespace) -> dict[str, list[str]]:
    from handlers.ticket_filters import NAMES

    return {name: [value] for name in NAMES if (value := getattr(args, name, None))}


def export_query(args: argparse.Namespace) -> Any:
    from domain.errors import InvalidInput
    from handlers.ticket_filters import parse

    try:
        return parse(export_params(args))
    except InvalidInput as exc:
        name = (exc.details or {}).get("parameter", "filter")
        raise CliError(f"--{name}: {exc.message}") from None


def cmd_export_tickets(args: argparse.Namespace, settings: Settings) -> int:
    from domain.services.exports import export_rows
    from handlers.exports.tickets_writer import XlsxStream

    query = export_query(args)
    out = Path(args.out)
    if not out.parent.exists():
        raise CliError(f"--out: the folder {out.parent} does not exist")

    async def work(container: Any) -> int:
        from domain.errors import NotFound
        from handlers.ticket_filters import resolve

        async with container.uow() as uow:
            try:
                await resolve(uow, query, export_params(args), None)
            except NotFound as exc:
                raise CliError(f"--assignee: {exc.message}") from None
        rows = export_rows(container.uow, container.context(), query)
        if args.format == "xlsx":
            stream = XlsxStream()
            async for row in rows:
                stream.add(row)
            stream.save(str(out))
            count = stream.count
        else:
            # Chunks keep memory flat; the file is written off the event loop.
            import csv

            from handlers.exports.tickets_writer import EXPORT_COLUMNS, csv_cells

            fh = await asyncio.to_thread(out.open, "w", newline="", encoding="utf-8")
            writer = csv.writer(fh)
            await asyncio.to_thread(writer.writerow, [h for h, _ in EXPORT_COLUMNS])
            count, chunk = 0, []
            async for row in rows:
                chunk.append(csv_cells(row))
                if len(chunk) >= 1000:
                    await asyncio.to_thread(writer.writerows, chunk)
                    count, chunk = count + len(chunk), []
            await asyncio.to_thread(writer.writerows, chunk)
            count += len(chunk)
            await asyncio.to_thread(fh.close)
        print(f"exported {count} tickets to {out}")
        return 0

    return asyncio.run(_with_container(settings, work))


# --- parser --------------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2, as for every other mistake
        raise CliError(f"{self.prog}: {message}")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="ticketbot", description="Fault and maintenance tickets over chat.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    serve = sub.add_parser("serve", help="run the service")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.set_defaults(func=cmd_serve)

    sub.add_parser("migrate", help="bring the schema up to date").set_defaults(func=cmd_migrate)

    users = sub.add_parser("users", help="people").add_subparsers(dest="users_cmd", required=True,
                                                                  parser_class=_Parser)
    add = users.add_parser("add", help="register a person")
    add.add_argument("--name", required=True)
    add.add_argument("--role", required=True)
    add.add_argument("--phone")
    add.add_argument("--slack-id")
    add.add_argument("--email")
    add.add_argument("--contractor")
    add.set_defaults(func=cmd_users_add)
    users.add_parser("list", help="list people").set_defaults(func=cmd_users_list)
    imp = users.add_parser("import", help="add people from .csv/.xlsx")
    imp.add_argument("file")
    imp.set_defaults(func=cmd_users_import)

    projects = sub.add_parser("projects", help="projects").add_subparsers(
        dest="projects_cmd", required=True, parser_class=_Parser)
    padd = projects.add_parser("add", help="register a project")
    padd.add_argument("--name", required=True)
    padd.add_argument("--whatsapp-group")
    padd.add_argument("--installation-guarantee-days", type=int,
                      help="default 90 for a new project; a known one keeps its own")
    padd.add_argument("--material-guarantee-days", type=int,
                      help="default 365 for a new project; a known one keeps its own")
    padd.set_defaults(func=cmd_projects_add)

    drs = sub.add_parser("drs", help="the DR register").add_subparsers(
        dest="drs_cmd", required=True, parser_class=_Parser)
    dimp = drs.add_parser("import", help="load the register from .xlsx/.csv")
    dimp.add_argument("file")
    dimp.set_defaults(func=cmd_drs_import)

    tokens = sub.add_parser("tokens", help="REST API tokens").add_subparsers(
        dest="tokens_cmd", required=True, parser_class=_Parser)
    tcreate = tokens.add_parser("create", help="print a new token for USER")
    tcreate.add_argument("user", help="phone, Slack id, e-mail or id")
    tcreate.add_argument("--name")
    tcreate.set_defaults(func=cmd_tokens_create)

    chat = sub.add_parser("chat", help="talk to the bot as a WhatsApp user")
    chat.add_argument("--as", dest="as_phone", required=True, metavar="PHONE")
    chat.add_argument("--message", help="one message; without it, an interactive session")
    chat.set_defaults(func=cmd_chat)

    outbox = sub.add_parser("outbox", help="undelivered or failed outbound messages")
    outbox.add_argument("--failed", action="store_true")
    outbox.set_defaults(func=cmd_outbox)

    imports = sub.add_parser("import", help="imports").add_subparsers(
        dest="import_cmd", required=True, parser_class=_Parser)
    weekly = imports.add_parser("weekly", help="import a weekly report workbook")
    weekly.add_argument("file")
    weekly.add_argument("--dry-run", action="store_true", help="report without writing")
    weekly.set_defaults(func=cmd_import_weekly)

    exports = sub.add_parser("export", help="exports").add_subparsers(
        dest="export_cmd", required=True, parser_class=_Parser)
    export = exports.add_parser("tickets", help="export tickets to .xlsx or .csv")
    export.add_argument("--format", choices=("xlsx", "csv"), required=True)
    export.add_argument("--out", required=True)
    for name in ("status", "priority", "assignee", "contractor", "project", "zone", "dr",
                 "pole", "pon", "sla", "q"):
        export.add_argument(f"--{name}")  # the REST list's filters, as in handlers/ticket_filters
    export.set_defaults(func=cmd_export_tickets)

    sla = sub.add_parser("sla", help="the SLA engine").add_subparsers(
        dest="sla_cmd", required=True, parser_class=_Parser)
    sweep = sla.add_parser("sweep", help="run one SLA sweep and deliver what it produced")
    sweep.add_argument("--at", help="as if the clock read this ISO-8601 time")
    sweep.set_defaults(func=cmd_sla_sweep)

    for register in EXTRA_COMMANDS:
        register(sub)
    return p


# Later capabilities (chat, outbox, sla, import, export) register their verbs here.
EXTRA_COMMANDS: list[Callable[[Any], None]] = []


def main(argv: list[str] | None = None) -> int:
    from storage.orm import start_mappers

    # Entities may be built before any database is opened (e.g. reading a register).
    start_mappers()
    try:
        args = build_parser().parse_args(argv)
        # serve logs what it does; the one-shot commands only print their result.
        logging.basicConfig(
            level=logging.INFO if args.command == "serve" else logging.WARNING,
            format="%(asctime)s %(levelname)s %(name)s %(message)s",
        )
        logging.getLogger("alembic").setLevel(logging.WARNING)
        settings = load_settings()
        return int(args.func(args, settings) or 0)
    except (CliError, ConfigError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except DomainError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `ticketbot ... | head`: the reader went away, nothing to say
        return 0
    except Exception as exc:
        from handlers.api.errors import database_unavailable

        if database_unavailable(exc):
            print(f"error: the database is not answering ({type(exc).__name__})", file=sys.stderr)
            return 3
        log.debug("unexpected error", exc_info=True)
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
