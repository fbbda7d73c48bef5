"""What token requests and the room-entry gate take, and how bad input becomes ``InvalidArgument``.

A :class:`Room` is numeric or a string, never both; a token lifetime is whole seconds
(default ``DEFAULT_EXPIRE_SECONDS`` of ``rtcconsole.usersig``); the client package's own
argument errors (``UserSigInputError``) become field-level ``InvalidArgument``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

from rtcconsole.usersig import DEFAULT_EXPIRE_SECONDS, UserSigInputError
from rtcconsole_server.errors import FieldViolation, InvalidArgument

__all__ = ["Room", "checked_inputs", "input_error", "lifetime_seconds"]


@dataclass(frozen=True)
class Room:
    """A numeric room (``room_id``) or a string room (``str_room_id``): exactly one is set."""

    room_id: int | None = None
    str_room_id: str | None = None

    def check(self, field: str = "room") -> None:
        if (self.room_id is None) == (self.str_room_id is None):
            raise InvalidArgument(FieldViolation(field, "set exactly one of room_id and str_room_id"))


def lifetime_seconds(value: timedelta | None) -> int:
    """A token lifetime in whole seconds, at least 1; None is the default (``DEFAULT_EXPIRE_SECONDS``)."""
    if value is None:
        return DEFAULT_EXPIRE_SECONDS
    seconds = int(value.total_seconds())
    if seconds < 1 or value != timedelta(seconds=seconds):
        raise InvalidArgument(FieldViolation("lifetime", "must be a whole number of seconds, at least 1"))
    return seconds


@contextmanager
def checked_inputs() -> Iterator[None]:
    """The helpers' own argument checks (user id of more than 1024 UTF-8 bytes, …) as field-level
    ``InvalidArgument``, for verification as for generation."""
    try:
        yield
    except UserSigInputError as error:
        raise input_error(error) from error


def input_error(error: UserSigInputError) -> InvalidArgument:
    """``error`` as ``InvalidArgument`` on the field its message names (``lifetime`` if none)."""
    message = str(error)
    field = next(
        (f for f in ("user_id", "str_room_id", "room_id", "sdk_app_id", "privileges") if f in message), ""
    )
    return InvalidArgument(FieldViolation(field or "lifetime", message))
