"""R9 materials are decoded off the store's threads, with a pixel cap (issue 10 §1).

32 uploads of an 8192x8192 PNG used to hold the single SQLite store thread; the
decoding is now a step of its own in the image pool, and an image that declares
more than 8192x8192 pixels is refused from its header, before any decoding.
"""

from __future__ import annotations

import asyncio
import io
import struct
import threading
import zlib

import grpc
import pytest
from PIL import Image

from rtcconsole.v1 import app_service_pb2 as pb
from rtcconsole_server.domain.apps._materials import MAX_PIXELS, MAX_SIDE, InspectedImage, inspect_image
from rtcconsole_server.errors import InvalidArgument
from tests.support import Tenant, fails

CODE = grpc.StatusCode


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def declared_png(width: int, height: int) -> bytes:
    """A few dozen bytes of PNG whose header declares ``width`` x ``height`` (a bomb's shape)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    pixels = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", pixels) + _chunk(b"IEND", b"")


def declared_jpeg(width: int, height: int) -> bytes:
    """A small JPEG whose frame header (SOF0) is rewritten to declare ``width`` x ``height``."""
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buffer, format="JPEG", progressive=False)
    data = bytearray(buffer.getvalue())
    at = data.index(b"\xff\xc0")
    data[at + 5 : at + 9] = struct.pack(">HH", height, width)
    return bytes(data)


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (declared_png(20000, 20000), "PNG, 400 M pixels: Pillow's guard, from the header"),
        (declared_png(9000, 9000), "PNG, 81 M pixels: past the cap, below Pillow's default error"),
        (declared_png(MAX_SIDE + 1, 1), "PNG, one side too long"),
        (declared_jpeg(20000, 20000), "JPEG, 400 M pixels"),
        (declared_jpeg(MAX_SIDE, MAX_SIDE + 1), "JPEG, one side too long"),
    ],
)
def test_r9_an_image_declaring_too_many_pixels_is_refused_before_decoding(content: bytes, why: str) -> None:
    assert len(content) < 1024, why
    with pytest.raises(InvalidArgument) as raised:
        inspect_image(content)
    assert [v.field for v in raised.value.violations] == ["content"], why
    assert str(MAX_SIDE) in raised.value.violations[0].description or str(MAX_PIXELS) in raised.value.message


def test_pillow_guard_is_held_to_the_cap() -> None:
    assert MAX_PIXELS == 8192 * 8192
    assert Image.MAX_IMAGE_PIXELS is not None and Image.MAX_IMAGE_PIXELS <= MAX_PIXELS


def test_inspect_image_keeps_what_it_found() -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30)).save(buffer, format="PNG")
    found = inspect_image(buffer.getvalue())
    assert (found.format, found.width, found.height, found.content) == ("png", 40, 30, buffer.getvalue())
    assert "bytes" in repr(found) and buffer.getvalue()[:8].hex() not in repr(found)


async def test_r9_a_bomb_over_grpc_is_invalid_argument_on_content(tenant: Tenant) -> None:
    app = await tenant.create_app("mix")
    for content in (declared_png(20000, 20000), declared_jpeg(20000, 20000)):
        failure = await fails(
            tenant.apps.CreateMaterial(
                pb.CreateMaterialRequest(sdk_app_id=app.sdk_app_id, content=content), metadata=tenant.metadata
            ),
            CODE.INVALID_ARGUMENT,
        )
        assert "content" in failure.field_violations


async def test_r9_decoding_runs_off_the_store_thread_and_leaves_it_free(
    tenant: Tenant, other_tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While one upload is held mid-decode, another tenant's write (on the store's pool,
    a single thread on SQLite) completes: decoding does not hold the store."""
    app = await tenant.create_app("mix")
    materials = tenant.server.console.materials
    entered, release = threading.Event(), threading.Event()
    threads: list[str] = []

    def held(content: bytes) -> InspectedImage:
        threads.append(threading.current_thread().name)
        entered.set()
        assert release.wait(timeout=30), "the test never released the decode"
        return inspect_image(content)

    monkeypatch.setattr(materials, "inspect", held)
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48)).save(buffer, format="PNG")
    upload = asyncio.ensure_future(
        tenant.apps.CreateMaterial(
            pb.CreateMaterialRequest(sdk_app_id=app.sdk_app_id, content=buffer.getvalue()),
            metadata=tenant.metadata,
        )
    )
    try:
        assert await asyncio.to_thread(entered.wait, 30)
        # A store write of another account while the decode is held: it must not queue behind it.
        created = await asyncio.wait_for(other_tenant.create_app("meanwhile"), timeout=20)
        assert created.name == "meanwhile" and not upload.done()
    finally:
        release.set()
    material = (await upload).material
    assert (material.width, material.height) == (64, 48)
    assert len(threads) == 1 and threads[0].startswith("rtc-image") and "store" not in threads[0]
