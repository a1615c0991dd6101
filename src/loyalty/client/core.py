"""What the synchronous and the asynchronous client share: credentials and the token cache, retry policy,
request headers, reading answers, and what happens to a call when the engine cannot be reached."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import httpx
from tenacity import RetryCallState, retry_if_exception, stop_after_attempt, wait_random_exponential

from loyalty.api.models.checkouts import PricedBasketOut
from loyalty.api.models.rewards import RewardOut
from loyalty.client.calls import Call, Offline
from loyalty.client.errors import (
    Conflict,
    LoyaltyError,
    OfflineRefused,
    RateLimited,
    ServerError,
    Unreachable,
    error_of,
)
from loyalty.client.journal import Entry, Journal, Queued
from loyalty.client.offline import price_offline

T = TypeVar("T")

# A token is renewed this long before the engine would stop accepting it.
_TOKEN_MARGIN = 60.0


@dataclass(frozen=True)
class RetryPolicy:
    """Retries of connection failures, 5xx and 429, with exponential backoff and full jitter; a 429's
    ``Retry-After`` is honoured (up to ``max_delay``)."""

    attempts: int = 4
    base_delay: float = 0.2
    max_delay: float = 5.0

    def options(self) -> dict[str, Any]:
        backoff = wait_random_exponential(multiplier=self.base_delay, max=self.max_delay)

        def wait(state: RetryCallState) -> float:
            error = state.outcome.exception() if state.outcome else None
            if isinstance(error, RateLimited):
                return min(error.retry_after, self.max_delay)
            return float(backoff(state))

        return {
            "stop": stop_after_attempt(self.attempts),
            "wait": wait,
            "retry": retry_if_exception(lambda e: isinstance(e, Unreachable | ServerError | RateLimited)),
            "reraise": True,
        }


@dataclass
class FlushReport:
    sent: int = 0
    failed: int = 0
    pending: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)  # (journal seq, error code)


@dataclass
class _Token:
    value: str | None = None
    valid_until: float = 0.0

    def current(self) -> str | None:
        return self.value if self.value and time.monotonic() < self.valid_until else None

    def store(self, document: dict[str, Any]) -> str:
        self.value = str(document["access_token"])
        self.valid_until = time.monotonic() + float(document.get("expires_in", 3600)) - _TOKEN_MARGIN
        return self.value


class ClientBase:
    def __init__(
        self,
        base_url: str,
        api_key: str,
        client_id: str | None = None,
        client_secret: str | None = None,
        *,
        token: str | None = None,
        scope: str | None = None,
        retry: RetryPolicy | None = None,
        journal: str | Path | None = None,
    ) -> None:
        if token is None and not (client_id and client_secret):
            raise ValueError("give client_id and client_secret, or a token")
        self.base_url = base_url
        self.api_key = api_key
        self.client_id = client_id
        self.client_secret = client_secret
        self.scope = scope
        self.retry = retry or RetryPolicy()
        self.journal = Journal(journal) if journal is not None else None
        self._token = _Token(token, float("inf")) if token else _Token()
        self._fixed_token = token is not None
        self._offers: dict[str, list[RewardOut]] = {}
        self._flushing = False

    # ---- requests and answers ----

    def _token_request(self) -> dict[str, Any]:
        form = {"grant_type": "client_credentials", "client_id": self.client_id, "client_secret": self.client_secret}
        if self.scope:
            form["scope"] = self.scope
        return {"url": "/v1/oauth/token", "headers": {"X-Api-Key": self.api_key}, "data": form}

    def _headers(self, call: Call[Any], token: str) -> dict[str, str]:
        headers = {"X-Api-Key": self.api_key, "Authorization": f"Bearer {token}", **call.headers}
        if call.idempotency_key:
            headers["Idempotency-Key"] = call.idempotency_key
        return headers

    @staticmethod
    def _document(response: httpx.Response) -> Any:
        try:
            return response.json()
        except ValueError:
            return None

    def _answer(self, call: Call[T], response: httpx.Response) -> T:
        document = self._document(response)
        if response.is_success and isinstance(document, dict) and "data" in document:
            return call.parse(document["data"])
        raise error_of(response.status_code, document, response.headers.get("Retry-After"))

    def _token_answer(self, response: httpx.Response) -> str:
        document = self._document(response)
        if response.is_success and isinstance(document, dict) and "access_token" in document:
            return self._token.store(document)
        raise error_of(response.status_code, document, response.headers.get("Retry-After"))

    def _may_refresh(self, response: httpx.Response) -> bool:
        return response.status_code == 401 and not self._fixed_token

    # ---- offline ----

    def _fail_offline(self, call: Call[Any], error: Unreachable) -> NoReturn:
        """A read simply fails; a change that must reach the engine fails closed."""
        if call.method == "GET":
            raise error
        raise OfflineRefused(
            f"The engine cannot be reached, and {call.operation} must not be done offline.", code="OFFLINE"
        ) from error

    def _queue(self, call: Call[Any], error: Unreachable) -> Queued:
        """Journal an earn-only call to replay later (without a journal, it fails like any other)."""
        if self.journal is None or call.offline is not Offline.QUEUE or not call.idempotency_key or not call.body:
            self._fail_offline(call, error)
        return self.journal.add(call.operation, call.method, call.path, call.body, call.idempotency_key)

    def _price_offline(self, call: Call[Any]) -> PricedBasketOut:
        assert call.body is not None
        member = call.body.get("user")
        return price_offline(call.body, self._offers.get(str(member), []) if member else [])

    def _remember_offers(self, member: str, found: list[RewardOut]) -> list[RewardOut]:
        self._offers[member] = found
        return found

    def _replay_calls(self) -> list[tuple[Entry, Call[Any]]]:
        if self.journal is None:
            return []
        return [
            (
                entry,
                Call(
                    entry.operation,
                    entry.method,
                    entry.path,
                    _raw,
                    body=entry.body,
                    idempotency_key=entry.idempotency_key,
                ),
            )
            for entry in self.journal.entries()
        ]

    def _replayed(self, report: FlushReport, entry: Entry, error: LoyaltyError | None) -> bool:
        """Record one replay's outcome; answers whether to go on with the next."""
        assert self.journal is not None
        if error is None:
            self.journal.done(entry.seq)
            report.sent += 1
            return True
        if isinstance(error, Unreachable) or (isinstance(error, Conflict) and error.code == "IDEMPOTENCY_KEY_IN_USE"):
            return False  # still offline, or the same operation is in flight: try again later, in order
        self.journal.failed(entry.seq, error.code, error.message)
        report.failed += 1
        report.errors.append((entry.seq, error.code))
        return True

    def _should_flush(self) -> bool:
        return self.journal is not None and not self._flushing and self.journal.pending() > 0


def _raw(data: Any) -> Any:
    return data
