"""Seed data: the people of users.csv and a slice of the DR register (used as a fixture)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from bot.bootstrap import Container
from domain.context import Actor
from domain.enums import Channel
from domain.model import DrRecord, User
from domain.services.people import NewUser, add_project, add_user

SHARED = Path(__file__).resolve().parents[2] / "shared"  # the checkout sits beside it

PEOPLE = [
    NewUser("Thabo Mokoena", "technician", "082 555 0101", None, None, "Velocity Build"),
    NewUser("Sipho Dlamini", "technician", "+27 82 555 0102", "U0TECH0002", None,
            "Ubuntu Fibre Works"),
    NewUser("Pieter van Wyk", "contractor", "27825550104", "U0CONT0001", None, "Velocity Build"),
    NewUser("Lerato Nkosi", "qa", "082-555-0105", "U0QA000001"),
    NewUser("Johan Botha", "supervisor", "0825550106", "U0SUP00001"),
    NewUser("Naledi Mahlangu", "manager", "0825550107", "U0MGR00001"),
    NewUser("Admin User", "admin", None, "U0ADM00001"),
]

# Two rows of ../shared/data/dr-register.xlsx.
DRS = [
    ("DR1716390", "MAM.P.E233", "MAM-PON-37", "Z07", "Mamelodi",
     "388 Protea Street, Mamelodi", date(2025, 12, 18), "ALCL62F56770", -25.715332, 28.197541),
    ("DR1769155", "LAW.P.F280", "LAW-PON-01", "Z08", "Lawley",
     "5884 Kiepersol Street, Lawley", date(2025, 11, 20), "ALCL914C2672", -25.830986, 28.061635),
]


@dataclass
class People:
    tech: User
    tech2: User
    contractor: User
    qa: User
    supervisor: User
    manager: User
    admin: User

    def actor(self, who: str, channel: Channel = Channel.WHATSAPP) -> Actor:
        return Actor(getattr(self, who), channel)


async def seed_people(container: Container) -> People:
    async with container.uow() as uow:
        ctx = container.context()
        users = [await add_user(uow, ctx, p) for p in PEOPLE]
        await uow.drs.upsert_many([DrRecord(*row) for row in DRS])
        await add_project(uow, "Lawley", "120363000000000001@g.us")
        await add_project(uow, "Mamelodi")
        await uow.commit()
    return People(*users)
