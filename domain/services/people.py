"""People, projects and API tokens (admin work, from the CLI or the REST API)."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from domain import refs
from domain.context import Context
from domain.enums import Role
from domain.errors import Conflict, InvalidInput, NotFound
from domain.model import ApiToken, Project, User
from domain.ports import UnitOfWork

TOKEN_PREFIX = "tb_"


@dataclass
class NewUser:
    name: str
    role: str
    phone: str | None = None
    slack_id: str | None = None
    email: str | None = None
    contractor: str | None = None


def parse_role(text: str) -> Role:
    try:
        return Role(text.strip().lower())
    except ValueError:
        roles = ", ".join(r.value for r in Role)
        raise InvalidInput(f"'{text}' is not a role; use one of {roles}.") from None


async def add_user(uow: UnitOfWork, ctx: Context, new: NewUser) -> User:
    name = new.name.strip()
    if not name:
        raise InvalidInput("A person needs a name.")
    role = parse_role(new.role)
    phone = None
    if new.phone and new.phone.strip():
        try:
            phone = refs.normalise_phone(new.phone)
        except refs.PhoneError as exc:
            raise InvalidInput(str(exc)) from None
    slack_id = new.slack_id.strip().upper() if new.slack_id and new.slack_id.strip() else None
    email = new.email.strip().lower() if new.email and new.email.strip() else None
    if email and "@" not in email:
        raise InvalidInput(f"'{new.email}' is not an e-mail address.")
    if phone and await uow.users.by_phone(phone):
        raise Conflict(f"Phone {phone} is already registered.")
    if slack_id and await uow.users.by_slack_id(slack_id):
        raise Conflict(f"Slack id {slack_id} is already registered.")
    if email and await uow.users.by_email(email):
        raise Conflict(f"E-mail {email} is already registered.")
    contractor_id = None
    if new.contractor and new.contractor.strip():
        contractor = await uow.users.contractor(new.contractor.strip(), create=True)
        contractor_id = contractor.id if contractor else None
    if role is Role.CONTRACTOR and contractor_id is None:
        raise InvalidInput("A contractor needs --contractor (the company's name).")
    user = User(
        name=name,
        role=role,
        phone=phone,
        slack_id=slack_id,
        email=email,
        contractor_id=contractor_id,
        created_at=ctx.now,
    )
    await uow.users.add(user)
    await uow.flush()
    return user


async def find_user(uow: UnitOfWork, key: str) -> User:
    """A person by phone, Slack id, e-mail or numeric id."""
    key = key.strip()
    user = None
    if key.isdigit() and len(key) < 9:
        user = await uow.users.by_id(int(key))
    if user is None and "@" in key and not key.endswith(("@c.us", "@lid")):
        user = await uow.users.by_email(key)
    if user is None and key.upper().startswith(("U", "W")) and key.isalnum():
        user = await uow.users.by_slack_id(key.upper())
    if user is None:
        try:
            user = await uow.users.by_phone(refs.normalise_phone(key))
        except refs.PhoneError:
            user = None
    if user is None:
        raise NotFound(f"No registered person '{key}' (give a phone, Slack id, e-mail or id).")
    return user


async def find_person(uow: UnitOfWork, key: str) -> User:
    """A person by a name only they have, else by phone, Slack id, e-mail or id (find_user):
    how people name each other in chat, in list filters and in a report's Assigned To."""
    key = key.strip().lstrip("@")
    named = await uow.users.by_name(key)
    if len(named) == 1:
        return named[0]
    if named:
        raise InvalidInput(f"'{key}' could be {', '.join(p.name for p in named)}: use their "
                           "full name.")
    return await find_user(uow, key)


async def add_project(
    uow: UnitOfWork,
    name: str,
    whatsapp_group: str | None = None,
    installation_guarantee_days: int | None = None,
    material_guarantee_days: int | None = None,
) -> tuple[Project, bool]:
    """Register a project, or change the settings given of one already known (the DR
    register's import registers the projects it names): (project, whether it is new)."""
    name = name.strip()
    if not name:
        raise InvalidInput("A project needs a name.")
    if whatsapp_group and not whatsapp_group.endswith("@g.us"):
        raise InvalidInput(f"'{whatsapp_group}' is not a WhatsApp group id (it ends in @g.us).")
    if any(d is not None and d < 0
           for d in (installation_guarantee_days, material_guarantee_days)):
        raise InvalidInput("Guarantee periods are whole days, 0 or more.")
    project = await uow.projects.by_name(name)
    if whatsapp_group:
        holder = await uow.projects.by_group(whatsapp_group)
        if holder is not None and holder is not project:
            raise Conflict(f"Group {whatsapp_group} already belongs to project {holder.name}.")
    if project is None:
        project = Project(
            name=name, whatsapp_group=whatsapp_group,
            installation_guarantee_days=(90 if installation_guarantee_days is None
                                         else installation_guarantee_days),
            material_guarantee_days=365 if material_guarantee_days is None
            else material_guarantee_days)
        await uow.projects.add(project)
        await uow.flush()
        return project, True
    if whatsapp_group:
        project.whatsapp_group = whatsapp_group
    if installation_guarantee_days is not None:
        project.installation_guarantee_days = installation_guarantee_days
    if material_guarantee_days is not None:
        project.material_guarantee_days = material_guarantee_days
    await uow.flush()
    return project, False


async def register_projects(uow: UnitOfWork, names: Iterable[str | None]) -> list[str]:
    """The projects a DR register names that are not registered yet, registered with the
    default guarantees: tickets on their drops then carry their project. Returns the new ones."""
    added = []
    for name in sorted({n.strip() for n in names if n and n.strip()}, key=str.lower):
        if await uow.projects.by_name(name) is None:
            await add_project(uow, name)
            added.append(name)
    return added


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def create_token(uow: UnitOfWork, ctx: Context, user: User, name: str | None = None) -> str:
    """A new bearer token; only its hash is stored, so it is shown exactly once."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    uow.add(ApiToken(user_id=user.id, token_hash=hash_token(token), created_at=ctx.now, name=name))
    await uow.flush()
    return token
