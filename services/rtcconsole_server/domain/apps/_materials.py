"""R9: background images of an app for cloud mix transcoding.

The format is read from the bytes (Pillow decodes the whole image), never from
a file name: a PNG or a JPEG of at most 2 MiB, whose width and height we store.

Decoding is CPU and memory work (an 8192×8192 image is 256 MiB of pixels), so it
is a step of its own, :func:`inspect_image`, pure and free of the store: the API
runs it in a small executor of its own, never on the store's threads (on SQLite
there is one, shared by every tenant's writes), then hands its
:class:`InspectedImage` to :meth:`Materials.create`, whose transaction only
checks the quotas and inserts. The pixel count is checked from the header,
before any decoding, and Pillow's decompression-bomb guard is held to the same cap.

Quotas per app (issue 10 §5): :data:`MATERIALS_PER_APP` materials and
:data:`MATERIAL_BYTES_PER_APP` bytes in all, counted under the app's row lock so
concurrent creates cannot pass them; deleting a material frees its share at once.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from datetime import datetime

from PIL import Image, UnidentifiedImageError
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session, defer

from rtcconsole_server.clock import Clock
from rtcconsole_server.domain.common import (
    Caller,
    Page,
    PageTokens,
    int_position,
    load_app,
    page_size,
)
from rtcconsole_server.errors import FieldViolation, InvalidArgument, NotFound, QuotaExceeded
from rtcconsole_server.store import Store
from rtcconsole_server.store.models import Material

__all__ = [
    "MATERIALS_PER_APP",
    "MATERIAL_BYTES_PER_APP",
    "MAX_BYTES",
    "MAX_PIXELS",
    "MAX_SIDE",
    "InspectedImage",
    "MaterialView",
    "Materials",
    "inspect_image",
]

MAX_BYTES = 2 * 1024 * 1024
"""Largest material, in bytes (2 MiB)."""
MAX_SIDE = 8192
"""Largest width or height, in pixels."""
MAX_PIXELS = MAX_SIDE * MAX_SIDE
"""Most pixels a material may declare (8192², 64 Mi): checked from the header before decoding."""
MAX_POSITION = 16384
"""Largest x or y position on the mix canvas, in pixels."""
MATERIALS_PER_APP = 50
"""Materials an app may hold at once: the 51st ``CreateMaterial`` is ``RESOURCE_EXHAUSTED``
with a ``QuotaFailure``."""
MATERIAL_BYTES_PER_APP = 32 * 1024 * 1024
"""Bytes all of an app's materials may hold together (32 MiB, sixteen of the largest):
a ``CreateMaterial`` that would pass it is ``RESOURCE_EXHAUSTED`` with a ``QuotaFailure``."""
_FORMATS = {"PNG": "png", "JPEG": "jpeg"}

# Pillow's own decompression-bomb guard (a warning past the cap, an error past twice it,
# raised while the header is read) held to our cap, never looser, and never off.
if Image.MAX_IMAGE_PIXELS is None or Image.MAX_IMAGE_PIXELS > MAX_PIXELS:
    Image.MAX_IMAGE_PIXELS = MAX_PIXELS


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


@dataclass(frozen=True, repr=False)
class InspectedImage:
    """Bytes that :func:`inspect_image` decoded as a PNG or JPEG, with what it found."""

    content: bytes
    format: str  # "png" or "jpeg"
    width: int
    height: int
    sha256: str

    def __repr__(self) -> str:
        return f"InspectedImage({self.format}, {self.width}x{self.height}, {len(self.content)} bytes)"


def _unreadable(why: str) -> InvalidArgument:
    return InvalidArgument(FieldViolation("content", f"is not a readable PNG or JPEG image (R9): {why}"))


def _check_size(content: bytes) -> None:
    if not content:
        raise InvalidArgument(FieldViolation("content", "is empty; send PNG or JPEG bytes (R9)"))
    if len(content) > MAX_BYTES:
        raise InvalidArgument(
            FieldViolation("content", f"has {len(content)} bytes; the limit is {MAX_BYTES} (2 MiB, R9)")
        )


def inspect_image(content: bytes) -> InspectedImage:
    """Decode ``content`` as a PNG or JPEG, or ``InvalidArgument`` on ``content``.

    Pure (no store, no clock) and thread-safe: call it off the store's threads.
    The declared size is checked before the pixels are decoded.
    """
    _check_size(content)
    try:
        with Image.open(io.BytesIO(content)) as image:  # reads the header only
            kind = image.format or ""
            width, height = image.size
            if kind not in _FORMATS:
                raise InvalidArgument(
                    FieldViolation("content", f"is {kind or 'unknown'}; only PNG or JPEG (R9)")
                )
            if max(width, height) > MAX_SIDE or width * height > MAX_PIXELS:
                raise InvalidArgument(
                    FieldViolation(
                        "content", f"is {width}x{height}; each side must be at most {MAX_SIDE} pixels"
                    )
                )
            image.load()  # decode it all: a truncated or corrupt file fails here
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise InvalidArgument(
            FieldViolation(
                "content", f"declares more than {MAX_PIXELS} pixels; each side must be at most {MAX_SIDE}"
            )
        ) from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        raise _unreadable(type(exc).__name__) from exc
    return InspectedImage(content, _FORMATS[kind], width, height, hashlib.sha256(content).hexdigest())


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

    @staticmethod
    def inspect(content: bytes) -> InspectedImage:
        """:func:`inspect_image`: decode the bytes, off the store's threads."""
        return inspect_image(content)

    @staticmethod
    def _check_fields(name: str, x_position: int, y_position: int) -> None:
        violations = []
        if len(name) > 64 or not name.isprintable():
            violations.append(FieldViolation("name", "must be at most 64 printable characters"))
        for field, value in (("x_position", x_position), ("y_position", y_position)):
            if value > MAX_POSITION:
                violations.append(FieldViolation(field, f"must be at most {MAX_POSITION} pixels"))
        if violations:
            raise InvalidArgument(violations)

    @staticmethod
    def _check_quota(session: Session, sdk_app_id: int, adding: int) -> None:
        held, size = session.execute(
            select(func.count(), func.coalesce(func.sum(Material.size_bytes), 0)).where(
                Material.sdk_app_id == sdk_app_id
            )
        ).one()
        subject = f"apps/{sdk_app_id}"
        if held >= MATERIALS_PER_APP:
            raise QuotaExceeded(subject=subject, resource="materials", limit=MATERIALS_PER_APP, current=held)
        if size + adding > MATERIAL_BYTES_PER_APP:
            raise QuotaExceeded(
                subject=subject, resource="material_bytes", limit=MATERIAL_BYTES_PER_APP, current=size
            )

    def check(
        self, caller: Caller, sdk_app_id: int, *, name: str, content: bytes, x_position: int, y_position: int
    ) -> None:
        """What is cheap, before the bytes are decoded: the fields, the app (``NotFound``),
        the size of ``content``, the quotas. :meth:`create` checks them again under a lock."""
        self._check_fields(name, x_position, y_position)
        with self._store.read() as session:
            load_app(session, caller, sdk_app_id)
            _check_size(content)
            self._check_quota(session, sdk_app_id, len(content))

    def create(
        self,
        caller: Caller,
        sdk_app_id: int,
        *,
        name: str,
        image: InspectedImage,
        x_position: int,
        y_position: int,
    ) -> MaterialView:
        """Store ``image`` (from :func:`inspect_image`) as a material of the app, within the quotas."""
        self._check_fields(name, x_position, y_position)
        with self._store.write() as session:
            # The app row lock serialises material creates of one app on PostgreSQL;
            # on SQLite BEGIN IMMEDIATE already serialises every writer.
            load_app(session, caller, sdk_app_id, for_update=True)
            self._check_quota(session, sdk_app_id, len(image.content))
            row = Material(
                sdk_app_id=sdk_app_id,
                name=name,
                format=image.format,
                width=image.width,
                height=image.height,
                x_position=x_position,
                y_position=y_position,
                size_bytes=len(image.content),
                sha256=image.sha256,
                content=image.content,
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
