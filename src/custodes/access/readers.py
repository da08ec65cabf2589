"""Reads of the door's rows for analytics (detection), so no other package names its tables."""

from __future__ import annotations

from sqlalchemy import Connection, select

from custodes.access.models import Approval


def approvers(conn: Connection) -> dict[str, str]:
    """Who signed each approval: approval id -> approver's employee id."""
    rows = conn.execute(select(Approval.approval_id, Approval.approver_id))
    return {str(approval): str(approver) for approval, approver in rows}
