"""The offline journal: earn-only operations written to a local SQLite file while the engine cannot be reached,
replayed in order, each with its own Idempotency-Key, once it can.

The file is written with ``synchronous=FULL``: an operation the till was told is queued survives a power cut.
A replay the engine refuses (a 4xx: the order was malformed, say) is kept as FAILED with the engine's error, for
someone to look at, and does not block the operations behind it.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS operations (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    operation TEXT NOT NULL,
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    body TEXT NOT NULL,
    idempotency_key TEXT NOT NULL UNIQUE,
    queued_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    status TEXT NOT NULL DEFAULT 'PENDING',
    error_code TEXT,
    error_message TEXT
)
"""


@dataclass(frozen=True)
class Queued:
    """What an operation answers when it was journalled instead of sent: it will be replayed by ``flush()``."""

    operation: str
    idempotency_key: str
    seq: int


@dataclass(frozen=True)
class Entry:
    seq: int
    operation: str
    method: str
    path: str
    body: dict[str, Any]
    idempotency_key: str
    status: str
    error_code: str | None


class Journal:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute(_SCHEMA)

    def add(self, operation: str, method: str, path: str, body: dict[str, Any], idempotency_key: str) -> Queued:
        """Journal an operation (a second add with the same key is the same operation: kept once)."""
        self._db.execute(
            "INSERT OR IGNORE INTO operations (operation, method, path, body, idempotency_key) VALUES (?, ?, ?, ?, ?)",
            (operation, method, path, json.dumps(body, separators=(",", ":")), idempotency_key),
        )
        seq = self._db.execute("SELECT seq FROM operations WHERE idempotency_key = ?", (idempotency_key,)).fetchone()
        return Queued(operation=operation, idempotency_key=idempotency_key, seq=int(seq[0]))

    def entries(self, status: str = "PENDING") -> list[Entry]:
        rows = self._db.execute(
            "SELECT seq, operation, method, path, body, idempotency_key, status, error_code FROM operations"
            " WHERE status = ? ORDER BY seq",
            (status,),
        ).fetchall()
        return [Entry(r[0], r[1], r[2], r[3], json.loads(r[4]), r[5], r[6], r[7]) for r in rows]

    def pending(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM operations WHERE status = 'PENDING'").fetchone()[0])

    def done(self, seq: int) -> None:
        self._db.execute("DELETE FROM operations WHERE seq = ?", (seq,))

    def failed(self, seq: int, code: str, message: str) -> None:
        self._db.execute(
            "UPDATE operations SET status = 'FAILED', error_code = ?, error_message = ? WHERE seq = ?",
            (code, message, seq),
        )

    def close(self) -> None:
        self._db.close()
