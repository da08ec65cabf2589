"""Is this employee someone the door may trust now? Unknown, suspended and departed are refused."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine

from custodes.identity.errors import EmployeeRefused
from custodes.store.base import as_utc
from custodes.store.engine import READ_ONLY, driver_sql

_STATUS_SQL = "SELECT suspended_at, left_at FROM employees WHERE employee_id = ?"


class EmployeeDirectory:
    """Reads the employee record on every check: a suspension takes effect on the next request."""

    def __init__(self, engine: Engine, clock: Callable[[], datetime] | None = None) -> None:
        self.engine = engine
        self._clock = clock or (lambda: datetime.now(UTC))
        self._sql = driver_sql(engine.dialect, _STATUS_SQL)

    def _status(self, employee_id: str) -> Any:
        """The employee's (suspended_at, left_at) row, or None if the id names nobody."""
        with self.engine.connect().execution_options(**READ_ONLY) as conn:
            return conn.exec_driver_sql(self._sql, (employee_id,)).first()

    def require_active(self, employee_id: str) -> None:
        row = self._status(employee_id)
        if row is None:
            raise EmployeeRefused("employee_unknown", "no such employee; ask an administrator")
        suspended_at, left_at = as_utc(row[0]), as_utc(row[1])
        now = self._clock()
        if suspended_at is not None and suspended_at <= now:
            raise EmployeeRefused("employee_suspended", "this employee is suspended")
        if left_at is not None and left_at <= now:
            raise EmployeeRefused("employee_departed", "this employee has left the company")

    def exists(self, employee_id: str) -> bool:
        """Whether the id names an employee at all (active or not)."""
        return self._status(employee_id) is not None

    def is_active(self, employee_id: str) -> bool:
        try:
            self.require_active(employee_id)
        except EmployeeRefused:
            return False
        return True
