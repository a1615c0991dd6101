"""How the engine writes a moment: ISO 8601 UTC with milliseconds and Z, as WLL does (2025-01-10T12:34:56.000Z)."""

from datetime import UTC, datetime


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
