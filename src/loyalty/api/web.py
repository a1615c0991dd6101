"""The engine's two web apps: the reference till at ``/pos/`` and the operator console at ``/console/``.

Each app is a handful of static files (HTML, CSS, JavaScript modules, images) in the package ``loyalty.web``, one
directory per app; there is no build step at run time and nothing is loaded from anywhere else (the console's chart
library is vendored into its directory, see ``web/console/VENDORED.md``). Both talk to the same ``/v1`` API as any
other client, with a client's credentials: the till with a POS client's, the console with an admin client's.

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

# URL prefix → directory of the app in the package.
APPS = {"/pos": "pos", "/console": "console"}
ROUTE_NAME = "web_app"

MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
}

# The apps load only their own files and call only their own origin.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    # Revalidate on every load, so a till or a console picks up a new version of the engine at once.
    "Cache-Control": "no-cache",
}


def app_directory(name: str) -> Path:
    return Path(loyalty.web.__file__).resolve().parent / name


def till_directory() -> Path:
    return app_directory("pos")


def app_assets(directory: Path) -> dict[str, tuple[Path, str]]:
    """Every servable file of an app, by name: its path and media type."""
    if not directory.is_dir():
        return {}
    return {
        path.name: (path, MEDIA_TYPES[path.suffix])
        for path in sorted(directory.iterdir())
        if path.is_file() and path.suffix in MEDIA_TYPES
    }


def till_assets(directory: Path | None = None) -> dict[str, tuple[Path, str]]:
    return app_assets(directory or till_directory())


def _mount_app(app: FastAPI, prefix: str, directory: Path) -> None:
    assets = app_assets(directory)
    name = ROUTE_NAME + prefix.replace("/", "_")

    def file(file_name: str) -> Response:
        found = assets.get(file_name)
        if found is None:
            raise HTTPException(status_code=404)
        path, media_type = found
        return FileResponse(path, media_type=media_type, headers=SECURITY_HEADERS)

    async def index_page() -> Response:
        return file("index.html")

    async def app_file(name: str) -> Response:
        return file(name)

    for path in (prefix, prefix + "/"):
        app.add_api_route(path, index_page, methods=["GET", "HEAD"], include_in_schema=False, name=name)
    app.add_api_route(
        prefix + "/{name}", app_file, methods=["GET", "HEAD"], include_in_schema=False, name=name + "_file"
    )


def mount_web(app: FastAPI) -> None:
    """Serve each app at its prefix (``index.html``) and its files under ``prefix/…``. Calling it twice adds
    nothing."""
    mounted = {getattr(route, "name", None) for route in app.router.routes}
    for prefix, directory in APPS.items():
        if ROUTE_NAME + prefix.replace("/", "_") not in mounted:
            _mount_app(app, prefix, app_directory(directory))
