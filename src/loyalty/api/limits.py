"""Abuse controls at the edge: the API rate limit per tenant, and the limit on failed voucher validations.

Both are token buckets (``domain/ratelimit.py``) kept in the server process: with ``--workers N`` each process
counts on its own, so the effective limits are N times those configured (see docs/reliability.md). Checking a
bucket takes no I/O and no await, so within a process concurrent requests see each other's takes exactly.
"""

from __future__ import annotations

import time
from types import TracebackType

from fastapi import Request

from loyalty.domain.errors import DomainError, RateLimited
from loyalty.domain.ratelimit import Buckets, Limit
from loyalty.domain.tenancy import Principal, Tenant
from loyalty.settings import Settings

# Failures that tell an enumerating caller something: the code does not exist, or it is someone else's.
ENUMERATION_CODES = frozenset({"VOUCHER_NOT_FOUND", "VOUCHER_OWNER_MISMATCH"})


class Limits:
    def __init__(self, settings: Settings) -> None:
        self.default = (
            Limit(settings.rate_limit_per_second, settings.rate_limit_burst)
            if settings.rate_limit_per_second > 0
            else None
        )
        self.per_credential = Limit(
            settings.voucher_failures_per_credential / 60, settings.voucher_failures_per_credential
        )
        self.per_member = Limit(settings.voucher_failures_per_member / 60, settings.voucher_failures_per_member)
        self.requests = Buckets()
        self.failures = Buckets()

    def admit(self, tenant: Tenant) -> None:
        """Take one request from the tenant's bucket, or refuse with 429 and the time to wait."""
        limit = Limit(*tenant.rate_limit) if tenant.rate_limit is not None else self.default
        if limit is None:
            return
        waiting = self.requests.take_all([(str(tenant.tenant_id), limit)], time.monotonic())
        if waiting:
            raise RateLimited("Too many requests for this API key; slow down.", retry_after=waiting)

    def voucher_attempt(self, principal: Principal, member: str | None) -> VoucherAttempt:
        tenant = principal.tenant.tenant_id
        keys = [(f"{tenant}/credential/{principal.credential}", self.per_credential)]
        if member is not None:
            keys.append((f"{tenant}/member/{member.strip().lower()}", self.per_member))
        return VoucherAttempt(self.failures, keys)


class VoucherAttempt:
    """One voucher validation. A failure slot is reserved before the code is looked up — so concurrent attempts
    can never jointly pass the limit — and handed back unless the attempt ended in an enumeration failure."""

    def __init__(self, buckets: Buckets, keys: list[tuple[str, Limit]]) -> None:
        self.buckets = buckets
        self.keys = keys

    async def __aenter__(self) -> None:
        waiting = self.buckets.take_all(self.keys, time.monotonic())
        if waiting:
            raise RateLimited(
                "Too many failed voucher validations; try again later.",
                retry_after=waiting,
                code="TOO_MANY_FAILED_VALIDATIONS",
            )

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if not (isinstance(error, DomainError) and error.code in ENUMERATION_CODES):
            self.buckets.give_back(self.keys, time.monotonic())


def limits_of(request: Request) -> Limits:
    limits: Limits = request.app.state.limits
    return limits
