"""Employees: the org chart, offices, shifts and turnover (offices and teams: ``data/org.json``)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from custodes.sim.config import DAY, Picker, SimConfig, largest_remainder, seconds, stream
from custodes.sim.names import NameBook
from custodes.sim.tables import Office, Team, offices, teams

OFFICES = offices()
TEAMS = teams()
SQUAD_SIZE = 12  # members per first-line manager


@dataclass(slots=True)
class Employee:
    employee_id: str
    name: str
    role: str
    team: str
    manager_id: str | None
    hired_at: datetime
    left_at: datetime | None
    region: str
    # Not written: how this person works.
    utc_offset: float = 0.0
    shift_start: int = 9 * 60  # minutes after local midnight
    shift_minutes: int = 8 * 60 + 30
    workdays: tuple[int, ...] = (0, 1, 2, 3, 4)  # Monday = 0, local calendar
    night: bool = False
    queue: tuple[str, ...] = ()
    sellers: list[str] = field(default_factory=list)  # seller_support portfolio

    def active_at(self, t: datetime) -> bool:
        return self.hired_at <= t and (self.left_at is None or t < self.left_at)


_WEEKEND_ROTAS = ((2, 3, 4, 5, 6), (0, 1, 4, 5, 6), (0, 3, 4, 5, 6))


class _Hiring:
    """Hires people one at a time, in id order, drawing from the employees' stream."""

    def __init__(self, config: SimConfig, names: NameBook) -> None:
        self.config, self.names = config, names
        self.rng = stream(config.seed, "employees")
        self.staff: list[Employee] = []

    def _display_name(self, office: Office) -> str:
        locale = Picker(list(office.name_locales))(self.rng)
        if locale == "zh_CN_latin":  # Chinese names in Latin script, given name first
            n = self.names.person(self.rng, "zh_CN")
            return f"{n.first.capitalize()} {n.last.capitalize()}"
        return self.names.person(self.rng, locale).display

    def hire(
        self,
        role: str,
        team: Team | None,
        team_name: str,
        manager: Employee | None,
        office_region: str,
        *,
        member: bool,
    ) -> Employee:
        rng, start = self.rng, self.config.start
        office = OFFICES[office_region]
        display = self._display_name(office)
        years = 6 if member else 8
        hired = start - seconds(86400 * (30 + (365 * years - 30) * rng.random() ** 1.4))
        e = Employee(
            "",
            display,
            role,
            team_name,
            manager.employee_id if manager else None,
            _workday_morning(hired),
            None,
            office_region,
            utc_offset=office.utc_offset,
        )
        e.shift_start = rng.choice((7 * 60 + 30, 8 * 60, 8 * 60 + 30, 9 * 60, 9 * 60 + 30, 10 * 60))
        e.shift_minutes = rng.choice((8 * 60, 8 * 60 + 30, 9 * 60))
        if team is not None:
            self._team_hours(e, team, office_region, member)
        e.employee_id = f"E{len(self.staff) + 1:04d}"
        self.staff.append(e)
        return e

    def _team_hours(self, e: Employee, team: Team, office_region: str, member: bool) -> None:
        rng = self.rng
        e.queue = team.queue
        if office_region == "PH-00" and rng.random() < team.night_share * 0.5:
            e.night = True
            e.shift_start = rng.choice((21 * 60, 22 * 60, 23 * 60))
        if member and rng.random() < team.weekend_share:
            e.workdays = rng.choice(_WEEKEND_ROTAS)

    def team(self, team: Team, size: int, top: Employee) -> None:
        """A department: a head when it has several squads, squad managers, members."""
        office_pick = Picker(list(team.offices))
        squads = 0 if size < 4 else -(-size // (SQUAD_SIZE + 1))
        head = top
        if squads >= 2:
            head = self.hire("manager", team, team.name, top, office_pick(self.rng), member=False)
            size -= 1
        members = size - squads
        squad_sizes = largest_remainder(members, [1] * max(squads, 1))
        for i, n in enumerate(squad_sizes):
            name = team.name if squads < 2 else f"{team.name}-{i + 1}"
            boss = head
            if squads:
                boss = self.hire("manager", team, name, head, office_pick(self.rng), member=False)
            for _ in range(n):
                self.hire(team.role, team, name, boss, office_pick(self.rng), member=True)


def make_employees(config: SimConfig, names: NameBook) -> list[Employee]:
    """An org chart: a head of operations, department heads, squad managers and members.

    Every team gets at least one member; teams with four or more people get a manager per
    squad of up to ``SQUAD_SIZE`` members and, with several squads, a department head.
    A few members joined during the window or left before or during it.
    """
    hiring = _Hiring(config, names)
    sizes = [
        1 + extra
        for extra in largest_remainder(config.employees - 1 - len(TEAMS), [t.weight for t in TEAMS])
    ]
    top = hiring.hire("manager", None, "operations", None, "US-WA", member=False)
    for team, size in zip(TEAMS, sizes, strict=True):
        hiring.team(team, size, top)
    _turnover(hiring.rng, config, hiring.staff)
    return hiring.staff


def _workday_morning(t: datetime) -> datetime:
    """Move a hire date to 09:00 UTC on a weekday (people start on working days)."""
    d: date = t.date()
    while d.weekday() >= 5:
        d += timedelta(days=1)
    return datetime(d.year, d.month, d.day, 9, tzinfo=UTC)


def _turnover(rng: random.Random, config: SimConfig, staff: list[Employee]) -> None:
    """A few non-managers joined during the window; a few left before or during it.

    Only teams with at least three members of the role are touched, so every role keeps
    someone active throughout the window.
    """
    by_role: dict[str, int] = {}
    for e in staff:
        by_role[e.role] = by_role.get(e.role, 0) + 1
    for e in staff:
        if e.role == "manager" or by_role[e.role] < 3:
            continue
        r = rng.random()
        if r < 0.03:  # left before the window
            lo = e.hired_at + timedelta(days=60)
            if lo < config.start - DAY:
                e.left_at = _workday_morning(lo + (config.start - lo) * rng.random())
                if e.left_at >= config.start:
                    e.left_at = None
        elif r < 0.05 and config.days >= 10:  # leaves during the window
            e.left_at = _workday_morning(
                config.start + timedelta(days=5 + rng.randrange(config.days - 7))
            )
            if e.left_at >= config.end:
                e.left_at = None
        elif r < 0.07 and config.days >= 10:  # new hire
            e.hired_at = _workday_morning(
                config.start + timedelta(days=rng.randrange(config.days - 7))
            )
        if e.left_at is not None and e.left_at <= e.hired_at:
            e.left_at = None
        if e.left_at is not None or e.hired_at >= config.start:
            by_role[e.role] -= 1
