"""How the engine writes a moment: ISO 8601 UTC with milliseconds and Z, as WLL does (2025-01-10T12:34:56.000Z)."""

from datetime import UTC, datetime


def iso(moment: datetime) -> str:
    """``2025-01-10T12:34:56.789Z``: UTC, milliseconds (truncated), always a four-digit year. (``isoformat`` is
    C code and a few times faster than ``strftime``; every timestamp in every answer goes through here.)"""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")[:-6] + "Z"
