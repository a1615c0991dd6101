"""The largest request body the engine reads: a declared ``Content-Length`` over the limit is refused before a
byte is read, and a body sent without one (chunked) is counted as it arrives and refused once it passes the
limit. Either way the answer is 413 ``PAYLOAD_TOO_LARGE`` and nothing is processed."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from loyalty.api.envelope import fail

TOO_LARGE = "PAYLOAD_TOO_LARGE"


def too_large_message(limit: int) -> str:
    return f"The request body is larger than {limit} bytes."


class BodySizeLimitMiddleware:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            response = fail(413, TOO_LARGE, too_large_message(self.max_bytes), maxBytes=self.max_bytes)
            await response(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    # The framework re-raises HTTP exceptions met while reading a body; the handler words it.
                    raise HTTPException(413, too_large_message(self.max_bytes))
            return message

        await self.app(scope, counted, send)
