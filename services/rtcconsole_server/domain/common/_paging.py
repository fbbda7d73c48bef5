"""Page sizes and opaque, authenticated page tokens for every List call.

A token carries the keyset position (the last row returned) and is bound to the
list it came from and to a fingerprint of its filters, all under an HMAC-SHA256
with the deployment's page-token key (``server_keys``, shared by every replica).
A token that was not issued by this deployment, was altered, belongs to another
list, or is reused with other filters is ``INVALID_ARGUMENT`` on ``page_token``;
the position of a genuine token is also checked against the shape the list
expects, so nothing a caller sends reaches a query unchecked.

Format: ``base64url(json) "." base64url(mac[:16])``; at most 2048 characters
(the contract's cap on every ``page_token``), a tag pair of the longest CJK key and value included.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from sqlalchemy import select

from rtcconsole_server.errors import FieldViolation, InvalidArgument
from rtcconsole_server.store import Store
from rtcconsole_server.store.models import ServerKey

__all__ = [
    "PAGE_TOKEN_KEY",
    "Page",
    "PageTokens",
    "aware_instant",
    "instant_position",
    "int_position",
    "page_size",
    "pair_position",
    "strings_position",
]

T = TypeVar("T")
P = TypeVar("P")

PAGE_TOKEN_KEY = "page_tokens"  # noqa: S105 - the name of a key, not a key
"""Name of the page-token key in ``server_keys``."""

_MAC_BYTES = 16
_INVALID = "is not a valid page token of this list; start again without one"


def page_size(requested: int, *, default: int = 20, maximum: int = 100) -> int:
    """``requested`` clamped to ``maximum``; 0 means ``default``; negative is refused."""
    if requested < 0:
        raise InvalidArgument(FieldViolation("page_size", "must not be negative"))
    if requested == 0:
        return default
    return min(requested, maximum)


def int_position(value: object) -> int:
    """A position that is a row id (a non-negative int within 64 bits)."""
    if type(value) is not int or not 0 <= value < 2**63:
        raise ValueError("not a row id")
    return value


def strings_position(value: object, length: int) -> list[str]:
    """A position that is a list of ``length`` strings (the parts of a keyset position)."""
    if not (isinstance(value, list) and len(value) == length and all(isinstance(v, str) for v in value)):
        raise ValueError(f"not a list of {length} strings")
    return value


def aware_instant(text: str) -> datetime:
    """An instant of a position: ISO 8601 with its UTC offset (a naive one is not ours)."""
    instant = datetime.fromisoformat(text)
    if instant.tzinfo is None:
        raise ValueError("a naive instant")
    return instant


def pair_position(value: object) -> tuple[str, str]:
    """A position that is a (key, value) pair of strings."""
    key, text = strings_position(value, 2)
    return key, text


def instant_position(value: object) -> tuple[datetime, str]:
    """A position that is [instant (ISO 8601, aware), id]: lists ordered by a time, then an id."""
    instant, text = strings_position(value, 2)
    return aware_instant(instant), text


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class PageTokens:
    """Issues and checks page tokens under one secret key (see the module docstring)."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("a page-token key has at least 16 bytes")
        self._key = key

    @classmethod
    def load(cls, store: Store) -> PageTokens:
        """The deployment's key, from the store (migration 0005 creates it)."""
        with store.read() as session:
            key = session.scalar(select(ServerKey.secret).where(ServerKey.name == PAGE_TOKEN_KEY))
        if key is None:
            raise RuntimeError("the store has no page-token key; run `rtc-console migrate`")
        return cls(bytes(key))

    @classmethod
    def ephemeral(cls) -> PageTokens:
        """A key of this object only (tokens die with it): for use cases built without a store key."""
        return cls(secrets.token_bytes(32))

    def _mac(self, body: bytes) -> bytes:
        return hmac.new(self._key, body, hashlib.sha256).digest()[:_MAC_BYTES]

    @staticmethod
    def _fingerprint(filters: object) -> str:
        blob = json.dumps(filters, sort_keys=True, default=str, separators=(",", ":")).encode()
        return hashlib.sha256(blob).hexdigest()[:16]

    def encode(self, list_name: str, position: object, filters: object) -> str:
        """A token for the page after ``position`` of ``list_name`` under ``filters``."""
        body = json.dumps(
            {"l": list_name, "p": position, "f": self._fingerprint(filters)},
            separators=(",", ":"),
            ensure_ascii=False,
        ).encode()
        return f"{_b64(body)}.{_b64(self._mac(body))}"

    def decode(self, token: str, list_name: str, filters: object, shape: Callable[[object], P]) -> P | None:
        """The position ``token`` points after (checked by ``shape``), or None for the first page."""
        if not token:
            return None
        try:
            body_text, _, mac_text = token.partition(".")
            body = _unb64(body_text)
            if not hmac.compare_digest(self._mac(body), _unb64(mac_text)):
                raise ValueError("bad mac")
            data = json.loads(body)
            if data["l"] != list_name:
                raise ValueError("another list")
            fingerprint, position = data["f"], data["p"]
        except (ValueError, TypeError, KeyError, RecursionError) as exc:
            raise InvalidArgument(FieldViolation("page_token", _INVALID)) from exc
        if fingerprint != self._fingerprint(filters):
            raise InvalidArgument(FieldViolation("page_token", "was issued for other filters"))
        try:
            return shape(position)
        except (ValueError, TypeError) as exc:  # a key leak or a bug of ours, never a valid token
            raise InvalidArgument(FieldViolation("page_token", _INVALID)) from exc


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of results and the token of the next (empty on the last page)."""

    items: list[T]
    next_page_token: str
