"""R9: background images of an app for cloud mix transcoding.

The format is read from the bytes (Pillow decodes the whole image), never from
a file name: a PNG or a JPEG of at most 2 MiB, whose width and height we store.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass
from datetime import datetime

from PIL import Image, UnidentifiedImageError
from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import defer

from rtcconsole_server.clock import Clock
from rtcconsole_server.domain.common import (
    Caller,
    Page,
    PageTokens,
    int_position,
    load_app,
    page_size,
)
from rtcconsole_server.errors import FieldViolation, InvalidArgument, NotFound
from rtcconsole_server.store import Store
from rtcconsole_server.store.models import Material

__all__ = ["MAX_BYTES", "MAX_SIDE", "MaterialView", "Materials", "inspect_image"]

MAX_BYTES = 2 * 1024 * 1024
"""Largest material, in bytes (2 MiB)."""
MAX_SIDE = 8192
"""Largest width or height, in pixels."""
MAX_POSITION = 16384
"""Largest x or y position on the mix canvas, in pixels."""
_FORMATS = {"PNG": "png", "JPEG": "jpeg"}


@dataclass(frozen=True)
class MaterialView:
    material_id: int
    sdk_app_id: int
    name: str
    format: str  # "png" or "jpeg"
    width: int
    height: int
    x_position: int
    y_position: int
    size_bytes: int
    sha256: str
    created_at: datetime


def inspect_image(content: bytes) -> tuple[str, int, int]:
    """``(format, width, height)`` of a PNG or JPEG, or ``InvalidArgument`` on ``content``."""
    if not content:
        raise InvalidArgument(FieldViolation("content", "is empty; send PNG or JPEG bytes (R9)"))
    if len(content) > MAX_BYTES:
        raise InvalidArgument(
            FieldViolation("content", f"has {len(content)} bytes; the limit is {MAX_BYTES} (2 MiB, R9)")
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(content)) as image:
                kind = image.format or ""
                width, height = image.size
                if kind in _FORMATS and max(width, height) <= MAX_SIDE:
                    image.load()  # decode it all: a truncated or corrupt file fails here
    except (
        UnidentifiedImageError,
        OSError,
        SyntaxError,
        ValueError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
    ) as exc:
        raise InvalidArgument(
            FieldViolation("content", f"is not a readable PNG or JPEG image (R9): {type(exc).__name__}")
        ) from exc
    if kind not in _FORMATS:
        raise InvalidArgument(FieldViolation("content", f"is {kind or 'unknown'}; only PNG or JPEG (R9)"))
    if max(width, height) > MAX_SIDE:
        raise InvalidArgument(
            FieldViolation("content", f"is {width}x{height}; each side must be at most {MAX_SIDE} pixels")
        )
    return _FORMATS[kind], width, height


def _view(row: Material) -> MaterialView:
    return MaterialView(
        material_id=row.id,
        sdk_app_id=row.sdk_app_id,
        name=row.name,
        format=row.format,
        width=row.width,
        height=row.height,
        x_position=row.x_position,
        y_position=row.y_position,
        size_bytes=row.size_bytes,
        sha256=row.sha256,
        created_at=row.created_at,
    )


class Materials:
    """Add, list, read and remove an app's materials."""

    def __init__(self, store: Store, clock: Clock, *, tokens: PageTokens | None = None) -> None:
        self._tokens = tokens or PageTokens.ephemeral()
        self._store = store
        self._clock = clock

    def create(
        self, caller: Caller, sdk_app_id: int, *, name: str, content: bytes, x_position: int, y_position: int
    ) -> MaterialView:
        violations = []
        if len(name) > 64 or not name.isprintable():
            violations.append(FieldViolation("name", "must be at most 64 printable characters"))
        for field, value in (("x_position", x_position), ("y_position", y_position)):
            if value > MAX_POSITION:
                violations.append(FieldViolation(field, f"must be at most {MAX_POSITION} pixels"))
        if violations:
            raise InvalidArgument(violations)
        with self._store.read() as session:
            load_app(session, caller, sdk_app_id)  # NotFound before any work on the bytes
        fmt, width, height = inspect_image(content)
        with self._store.write() as session:
            load_app(session, caller, sdk_app_id)
            row = Material(
                sdk_app_id=sdk_app_id,
                name=name,
                format=fmt,
                width=width,
                height=height,
                x_position=x_position,
                y_position=y_position,
                size_bytes=len(content),
                sha256=hashlib.sha256(content).hexdigest(),
                content=content,
                created_at=self._clock.now(),
            )
            session.add(row)
            session.flush()
            return _view(row)

    def list(
        self, caller: Caller, sdk_app_id: int, *, page_size_requested: int, page_token: str
    ) -> Page[MaterialView]:
        size = page_size(page_size_requested)
        filters = {"app": sdk_app_id}
        after = self._tokens.decode(page_token, "materials", filters, int_position)
        conditions: list[ColumnElement[bool]] = [Material.sdk_app_id == sdk_app_id]
        if after is not None:
            conditions.append(Material.id < after)
        with self._store.read() as session:
            load_app(session, caller, sdk_app_id)
            rows = session.scalars(
                select(Material)
                .where(*conditions)
                .order_by(Material.id.desc())
                .limit(size + 1)
                .options(defer(Material.content))
            ).all()
            views = [_view(r) for r in rows[:size]]
        token = self._tokens.encode("materials", views[-1].material_id, filters) if len(rows) > size else ""
        return Page(views, token)

    def get(self, caller: Caller, sdk_app_id: int, material_id: int) -> tuple[MaterialView, bytes]:
        with self._store.read() as session:
            load_app(session, caller, sdk_app_id)
            row = session.get(Material, material_id)
            if row is None or row.sdk_app_id != sdk_app_id:
                raise NotFound("material", str(material_id))
            return _view(row), row.content

    def delete(self, caller: Caller, sdk_app_id: int, material_id: int) -> None:
        with self._store.write() as session:
            load_app(session, caller, sdk_app_id)
            row = session.get(Material, material_id)
            if row is None or row.sdk_app_id != sdk_app_id:
                raise NotFound("material", str(material_id))
            session.delete(row)
