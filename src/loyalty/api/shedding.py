"""Load shedding: past a number of requests in progress in this process, a new ``/v1`` request is answered at
once with 503 ``OVERLOADED`` and ``Retry-After`` instead of joining a queue it would time out in.

Under overload a queue only grows: every request waits longer, clients time out and retry, and the engine goes
on working for callers that have left. Refusing early keeps the latency of what is accepted bounded, tells a
well-behaved client (such as ``loyalty.client``) when to come back, and lets the engine recover as soon as the
offered load drops. Health, readiness and metrics are never shed.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from loyalty.api.envelope import fail

OVERLOADED = "OVERLOADED"


class LoadSheddingMiddleware:
    def __init__(self, app: ASGIApp, max_in_flight: int) -> None:
        self.app = app
        self.max_in_flight = max_in_flight
        self.in_flight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.max_in_flight <= 0 or not scope["path"].startswith("/v1/"):
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.max_in_flight:
            response = fail(
                503,
                OVERLOADED,
                "The engine is busy; try again shortly.",
                headers={"Retry-After": "1"},
                retryAfter=1,
            )
            await response(scope, receive, send)
            return
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1
