"""Process configuration, read from ``LOYALTY_*`` environment variables."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SQLITE_PATH = Path("var") / "loyalty.db"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LOYALTY_", extra="ignore")

    # sqlite:///path, postgresql://user@host/db, or an explicit driver URL.  Empty means the
    # default SQLite file ./var/loyalty.db relative to the working directory.
    database_url: str = ""
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    log_level: str = "INFO"
    # Lifetime of client-credential access tokens, as WLL's admin tokens (24 h).
    token_ttl_seconds: int = 86400
    # How long an Idempotency-Key is remembered (the contract promises at least 72 h).
    idempotency_ttl_hours: int = 72
    # The worker: how long a taken webhook message is held before another worker may retry it, the backoff base
    # between attempts, and how often to look for due work when idle.
    webhook_lease_seconds: float = 30.0
    webhook_backoff_seconds: float = 5.0
    webhook_timeout_seconds: float = 10.0
    worker_poll_seconds: float = 1.0
    # How often the worker runs the daily jobs (points jobs, tier review, DAILY audiences, idempotency-key reaping),
    # and, in between, the points jobs alone (activation of pending points and expiry).
    daily_jobs_hours: float = 24.0
    points_jobs_minutes: float = 5.0
    # Abuse controls. The API rate limit is a token bucket per tenant (per API key), in each server process: the
    # default below unless the tenant has its own (``loyalty tenants rate-limit``); 0 turns the default off.
    rate_limit_per_second: int = 1000
    rate_limit_burst: int = 2000
    # Failed voucher validations (unknown code, or another member's) allowed per minute, per credential and per
    # member presenting codes: enumeration cannot go faster than this.
    voucher_failures_per_credential: int = 60
    voucher_failures_per_member: int = 10
    # The largest request body accepted (413 above it).
    max_body_bytes: int = 1_048_576
    # Requests in progress per server process past which new /v1 requests get 503 OVERLOADED at once (0: never).
    # A process answers a till's request in about 5-40 ms of CPU, and requests in progress share that CPU, so 32
    # of them keep an accepted request within about 0.2-1.3 s; past that, a fast refusal serves a till better
    # than a queue it would time out in (docs/benchmarks.md, "Overload").
    max_in_flight: int = 32
    # SQLite durability: FULL (default, durable on power loss) or NORMAL (faster; see docs/operations.md).
    sqlite_synchronous: str = "FULL"

    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{DEFAULT_SQLITE_PATH}"
