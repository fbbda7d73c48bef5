"""The web console's files on the HTTP door (docs/dashboard.md, decision 0034).

The built bundle lives in ``gateway/web/`` of this package (committed, rebuilt by
``clients/web``). A ``GET`` or ``HEAD`` of:

* ``/assets/<name>``: the file, cached for a year as immutable (its name carries a
  hash of its content), or 404 when there is no such file;
* any other path: ``index.html`` (the single-page app routes in the browser), never
  cached so that a new release is picked up at the next load.

Only plain names inside the bundle are served: a path with a ``..``, ``.``, empty or
hidden segment, a backslash, a NUL or a percent-encoded slash is 404, and the resolved
file must lie under the bundle's directory. Other methods are 405.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path

from rtcconsole_server.gateway.asgi import Receive, Scope, Send

__all__ = ["ASSET_CACHE", "BUNDLE_DIR", "INDEX_CACHE", "StaticFiles"]


BUNDLE_DIR = Path(__file__).parent / "web"
"""The committed bundle of ``clients/web``."""
ASSET_CACHE = b"public, max-age=31536000, immutable"
"""``cache-control`` of ``/assets/*``: one year (names are content-hashed)."""
INDEX_CACHE = b"no-cache"
"""``cache-control`` of ``index.html``: revalidate at every load."""

_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".json": "application/json",
    ".woff2": "font/woff2",
}
_CSP = (
    b"default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    b"img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; "
    b"base-uri 'none'; frame-ancestors 'none'"
)


def _content_type(path: Path) -> str:
    return _TYPES.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"


class StaticFiles:
    """ASGI app of the bundle under ``root`` (default :data:`BUNDLE_DIR`); files are read per request."""

    def __init__(self, root: Path = BUNDLE_DIR) -> None:
        self._root = root.resolve()

    def _asset(self, path: str) -> Path | None:
        """The file of ``/assets/…``, or None when the name is not a plain file of the bundle."""
        segments = path.lstrip("/").split("/")
        if any(s in ("", ".", "..") or s.startswith(".") or "\\" in s or "\0" in s for s in segments):
            return None
        candidate = (self._root / Path(*segments)).resolve()
        if not candidate.is_relative_to(self._root) or not candidate.is_file():
            return None
        return candidate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        method = scope.get("method", "GET")
        if method not in ("GET", "HEAD"):
            await _send(
                send, 405, b"method not allowed\n", "text/plain; charset=utf-8", [(b"allow", b"GET, HEAD")]
            )
            return
        path: str = scope["path"]
        raw = scope.get("raw_path") or path.encode()
        if b"%2f" in raw.lower() or b"%5c" in raw.lower():
            await _send(send, 404, b"not found\n", "text/plain; charset=utf-8", head=method == "HEAD")
            return
        if path.startswith("/assets/"):
            asset = self._asset(path)
            if asset is None:
                await _send(send, 404, b"not found\n", "text/plain; charset=utf-8", head=method == "HEAD")
                return
            extra = [(b"cache-control", ASSET_CACHE)]
            await _send(send, 200, asset.read_bytes(), _content_type(asset), extra, head=method == "HEAD")
            return
        index = self._root / "index.html"
        if not index.is_file():
            body = b"the web console is not built (clients/web: npm ci && npm run build)\n"
            await _send(send, 404, body, "text/plain; charset=utf-8", head=method == "HEAD")
            return
        extra = [(b"cache-control", INDEX_CACHE), (b"content-security-policy", _CSP)]
        await _send(send, 200, index.read_bytes(), _TYPES[".html"], extra, head=method == "HEAD")


async def _send(
    send: Send,
    status: int,
    body: bytes,
    content_type: str,
    extra: list[tuple[bytes, bytes]] | None = None,
    *,
    head: bool = False,
) -> None:
    headers = [
        (b"content-type", content_type.encode()),
        (b"content-length", str(len(body)).encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"no-referrer"),
        *(extra or []),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if head else body})
