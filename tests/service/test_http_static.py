"""The web console's files on the HTTP door (docs/dashboard.md, decision 0034): content types,
cache headers, the SPA fallback, and no way out of the bundle's directory. Over a real server
for the committed bundle; straight on the ASGI app of ``gateway/static.py`` for the edge cases
that need a bundle of their own (a hidden file, a symbolic link out of it, no index).
"""

from __future__ import annotations

import asyncio
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

import httpx
import pytest

from rtcconsole_server.gateway.static import ASSET_CACHE, BUNDLE_DIR, INDEX_CACHE, StaticFiles

TIMEOUT = 10.0


pytestmark = pytest.mark.http_door


def _bundle_asset(suffix: str) -> str:
    names = sorted(p.name for p in (BUNDLE_DIR / "assets").iterdir() if p.suffix == suffix)
    assert names, f"no {suffix} in the committed bundle {BUNDLE_DIR}"
    return names[0]


async def _raw_get(url: str, target: str) -> bytes:
    """A GET of ``target`` exactly as written (no client-side normalisation of ``..``)."""
    host, port = url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(f"GET {target} HTTP/1.1\r\nhost: {host}\r\nconnection: close\r\n\r\n".encode())
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(), TIMEOUT)
    writer.close()
    return answer


async def test_index_is_served_at_the_root_and_for_app_paths(http: httpx.AsyncClient) -> None:
    for path in ("/", "/apps", "/calls/1400000001_7_1700000000"):
        response = await http.get(path)
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/html; charset=utf-8"
        assert response.headers["cache-control"] == INDEX_CACHE.decode()
        assert "default-src 'self'" in response.headers["content-security-policy"]
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.content == (BUNDLE_DIR / "index.html").read_bytes()


async def test_assets_have_their_types_and_a_year_of_cache(http: httpx.AsyncClient) -> None:
    for suffix, content_type in (
        (".js", "text/javascript; charset=utf-8"),
        (".css", "text/css; charset=utf-8"),
    ):
        name = _bundle_asset(suffix)
        response = await http.get(f"/assets/{name}")
        assert response.status_code == 200
        assert response.headers["content-type"] == content_type
        assert response.headers["cache-control"] == ASSET_CACHE.decode()
        assert response.content == (BUNDLE_DIR / "assets" / name).read_bytes()
        head = await http.head(f"/assets/{name}")
        assert head.status_code == 200 and head.content == b""
        assert head.headers["content-length"] == str(len(response.content))


async def test_a_missing_asset_is_404_not_the_index(http: httpx.AsyncClient) -> None:
    response = await http.get("/assets/index-00000000.js")
    assert response.status_code == 404
    assert b"<html" not in response.content


@pytest.mark.parametrize(
    "target",
    [
        "/assets/../static.py",
        "/assets/../../gateway/routes.py",
        "/assets/%2e%2e/static.py",
        "/assets/..%2fstatic.py",
        "/assets/.hidden",
        "/assets/..\\static.py",
    ],
)
async def test_no_path_leaves_the_bundle(http: httpx.AsyncClient, target: str) -> None:
    assert http.base_url.host
    answer = await _raw_get(str(http.base_url).rstrip("/"), target)
    status = answer.split(b"\r\n", 1)[0]
    body = answer.split(b"\r\n\r\n", 1)[-1]
    assert b"from __future__" not in body
    # 404 for the asset, or (when the server normalised the path away from /assets/) the index
    assert status.endswith(b"404 Not Found") or (status.endswith(b"200 OK") and b"<!doctype html>" in body)


async def test_the_api_and_probes_are_untouched(http: httpx.AsyncClient) -> None:
    assert (await http.get("/healthz")).json() == {"status": "ok"}
    response = await http.post(
        "/rtcconsole.v1.AppService/ListApps", json={}, headers={"content-type": "application/json"}
    )
    assert response.status_code == 401
    assert (await http.post("/not-a-route", content=b"")).status_code == 404


# --- the ASGI app on a bundle of its own


async def _call(
    app: StaticFiles, path: str, method: str = "GET", raw: bytes | None = None
) -> tuple[int, dict[str, str], bytes]:
    sent: list[MutableMapping[str, Any]] = []

    async def receive() -> MutableMapping[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": method, "path": path, "raw_path": raw or path.encode()}
    await app(scope, receive, send)
    headers = {k.decode(): v.decode() for k, v in sent[0]["headers"]}
    return sent[0]["status"], headers, b"".join(m.get("body", b"") for m in sent[1:])


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    root = tmp_path / "web"
    (root / "assets").mkdir(parents=True)
    (root / "index.html").write_text("<!doctype html><title>t</title>")
    (root / "assets" / "app-abc.js").write_text("export {}")
    (root / "assets" / "logo.svg").write_text("<svg/>")
    (root / "assets" / ".secret").write_text("hidden")
    (tmp_path / "outside.txt").write_text("outside")
    (root / "assets" / "link.txt").symlink_to(tmp_path / "outside.txt")
    return root


async def test_static_types_hidden_files_and_links_out(bundle: Path) -> None:
    app = StaticFiles(bundle)
    assert (await _call(app, "/assets/logo.svg"))[1]["content-type"] == "image/svg+xml"
    assert (await _call(app, "/assets/.secret"))[0] == 404
    assert (await _call(app, "/assets/link.txt"))[0] == 404
    assert (await _call(app, "/assets/app-abc.js/"))[0] == 404
    assert (await _call(app, "/assets/x", raw=b"/assets/..%2Foutside.txt"))[0] == 404
    status, headers, body = await _call(app, "/assets/app-abc.js", method="HEAD")
    assert (status, body, headers["content-length"]) == (200, b"", "9")


async def test_static_refuses_other_methods_and_says_when_unbuilt(bundle: Path, tmp_path: Path) -> None:
    status, headers, _ = await _call(StaticFiles(bundle), "/", method="PUT")
    assert status == 405 and headers["allow"] == "GET, HEAD"
    status, _, body = await _call(StaticFiles(tmp_path / "nothing"), "/")
    assert status == 404 and b"not built" in body
