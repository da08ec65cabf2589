"""Times in a dataset folder: ISO 8601 with an explicit offset, read as aware UTC datetimes."""

from __future__ import annotations

from datetime import UTC, datetime

from custodes.dataset.errors import DatasetError


def parse_time(value: str, file: str, line: int, column: str) -> datetime:
    """ISO 8601 with an explicit UTC offset; naive times are refused rather than guessed."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise DatasetError(file, line, f"{column} is not an ISO 8601 time") from None
    if parsed.tzinfo is None:
        raise DatasetError(file, line, f"{column} has no time zone (use Z for UTC)")
    return parsed.astimezone(UTC)
