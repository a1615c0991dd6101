"""The HTTP ceiling: a bare ASGI app — no framework, no database, no work — served by the same uvicorn setup as
the engine (``uvicorn bench.ceiling_app:app --workers 2``, no access log, no proxy headers).

``ANY /bytes/{n}`` reads the request body and answers a JSON document of exactly ``n`` bytes, so the harness can
replay each scenario's requests with the methods, body sizes and response sizes the engine's answers had. What the
generator and uvicorn can push through this app on the machine is the most any engine could reach there.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from functools import lru_cache
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_ENVELOPE = b'{"status":"success","data":{"padding":""}}'
MAX_BYTES = 4 * 1024 * 1024


@lru_cache(maxsize=256)
def document(size: int) -> bytes:
    """A JSON document of exactly ``size`` bytes (or the smallest envelope, if ``size`` is below it)."""
    padding = max(0, size - len(_ENVELOPE))
    return b'{"status":"success","data":{"padding":"' + b"x" * padding + b'"}}'


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = bool(message.get("more_body", False))
    path: str = scope["path"]
    status = 200
    body = document(2)
    if path.startswith("/bytes/"):
        try:
            body = document(min(MAX_BYTES, int(path[len("/bytes/") :])))
        except ValueError:
            status, body = 404, b'{"status":"fail"}'
    elif path != "/healthz":
        status, body = 404, b'{"status":"fail"}'
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
