"""The reference web till, served by the engine at ``/pos/``.

The till is a handful of static files (HTML, CSS, JavaScript modules and a demo catalogue) in the package
``loyalty.web`` under ``pos/``; there is no build step and nothing is loaded from anywhere else. It talks to the
same ``/v1`` API as any other till, with a POS client's credentials.

The files are served by explicit routes rather than a static-files mount in HTML mode: the engine drops trailing
slashes before routing (``/pos/`` arrives as ``/pos``), and the mount's "add a slash" redirect would then loop. Only
the files present when the routes are added are served, looked up by exact name, so no path from a request ever
reaches the file system. The routes are left out of the OpenAPI document.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse, Response
from starlette.exceptions import HTTPException

import loyalty.web

PREFIX = "/pos"
ROUTE_NAME = "pos_till"

MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
}

# The till loads only its own files and calls only its own origin.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    # Revalidate on every load, so a till picks up a new version of the engine at once.
    "Cache-Control": "no-cache",
}


def till_directory() -> Path:
    return Path(loyalty.web.__file__).resolve().parent / "pos"


def till_assets(directory: Path | None = None) -> dict[str, tuple[Path, str]]:
    """Every servable file of the till, by name: its path and media type."""
    directory = directory or till_directory()
    if not directory.is_dir():
        return {}
    return {
        path.name: (path, MEDIA_TYPES[path.suffix])
        for path in sorted(directory.iterdir())
        if path.is_file() and path.suffix in MEDIA_TYPES
    }


def mount_web(app: FastAPI) -> None:
    """Serve the till at ``/pos/`` (``index.html``) and its files under ``/pos/…``. Calling it twice adds nothing."""
    if any(getattr(route, "name", None) == ROUTE_NAME for route in app.router.routes):
        return
    assets = till_assets()

    def file(name: str) -> Response:
        found = assets.get(name)
        if found is None:
            raise HTTPException(status_code=404)
        path, media_type = found
        return FileResponse(path, media_type=media_type, headers=SECURITY_HEADERS)

    async def till_page() -> Response:
        return file("index.html")

    async def till_file(name: str) -> Response:
        return file(name)

    for path in (PREFIX, PREFIX + "/"):
        app.add_api_route(path, till_page, methods=["GET", "HEAD"], include_in_schema=False, name=ROUTE_NAME)
    app.add_api_route(
        PREFIX + "/{name}", till_file, methods=["GET", "HEAD"], include_in_schema=False, name=ROUTE_NAME + "_file"
    )
