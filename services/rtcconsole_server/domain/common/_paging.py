"""Page sizes and opaque page tokens for every List call.

A token carries the keyset position (the last id returned) and a fingerprint of
the filters, so a token reused with other filters is refused instead of
silently skipping rows.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from typing import Generic, TypeVar

from rtcconsole_server.errors import FieldViolation, InvalidArgument

__all__ = ["Page", "decode_page_token", "encode_page_token", "page_size"]

T = TypeVar("T")


def page_size(requested: int, *, default: int = 20, maximum: int = 100) -> int:
    """``requested`` clamped to ``maximum``; 0 means ``default``; negative is refused."""
    if requested < 0:
        raise InvalidArgument(FieldViolation("page_size", "must not be negative"))
    if requested == 0:
        return default
    return min(requested, maximum)


def _fingerprint(filters: object) -> str:
    blob = json.dumps(filters, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def encode_page_token(position: object, filters: object) -> str:
    """An opaque token for the page after ``position`` under ``filters``."""
    blob = json.dumps({"p": position, "f": _fingerprint(filters)}).encode()
    return base64.urlsafe_b64encode(blob).decode().rstrip("=")


def decode_page_token(token: str, filters: object) -> object | None:
    """The position a token points after, or None for the first page."""
    if not token:
        return None
    try:
        padded = token + "=" * (-len(token) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        position, fingerprint = data["p"], data["f"]
    except (ValueError, TypeError, KeyError) as exc:
        raise InvalidArgument(FieldViolation("page_token", "is not a token this service issued")) from exc
    if fingerprint != _fingerprint(filters):
        raise InvalidArgument(FieldViolation("page_token", "was issued for other filters"))
    result: object = position
    return result


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of results and the token of the next (empty on the last page)."""

    items: list[T]
    next_page_token: str
