"""Conversions of UserSig / PrivateMapKey results and room-entry decisions to protos."""

from __future__ import annotations

from datetime import timedelta

from google.protobuf.duration_pb2 import Duration
from google.protobuf.timestamp_pb2 import Timestamp

from rtcconsole.usersig import PrivateMapClaims, UserSigClaims, VerificationFailure
from rtcconsole.v1 import auth_service_pb2 as pb
from rtcconsole_server.api.convert import STOP_REASON
from rtcconsole_server.domain.auth import EntryDecision, EntryDenial, Room
from rtcconsole_server.errors import FieldViolation, InvalidArgument

__all__ = ["claims", "decision", "failure", "lifetime", "private_map", "room_of", "unix_time"]

_FAILURE = {
    reason: pb.SignatureFailure.Value(f"SIGNATURE_FAILURE_{reason.name}") for reason in VerificationFailure
}
_DENIAL = {denial: pb.EntryDenial.Value(f"ENTRY_DENIAL_{denial.name}") for denial in EntryDenial}


def unix_time(seconds: int) -> Timestamp:
    stamp = Timestamp()
    stamp.FromSeconds(seconds)
    return stamp


def lifetime(message: Duration, present: bool) -> timedelta | None:
    """The requested lifetime, or None when unset (the 180-day default)."""
    if not present:
        return None
    if message.seconds < 0 or message.nanos < 0:
        raise InvalidArgument(FieldViolation("lifetime", "must be positive"))
    return message.ToTimedelta()


def room_of(message: object, field: str = "room") -> Room:
    """The ``room`` oneof of a request as a domain Room."""
    which = message.WhichOneof(field)  # type: ignore[attr-defined]
    if which == "room_id":
        return Room(room_id=int(message.room_id))  # type: ignore[attr-defined]
    if which == "str_room_id":
        return Room(str_room_id=str(message.str_room_id))  # type: ignore[attr-defined]
    raise InvalidArgument(FieldViolation(field, "set room_id or str_room_id"))


def failure(reason: VerificationFailure | None) -> pb.SignatureFailure.ValueType:
    return _FAILURE[reason] if reason else pb.SIGNATURE_FAILURE_UNSPECIFIED


def claims(value: UserSigClaims | None) -> pb.UserSigClaims | None:
    if value is None:
        return None
    message = pb.UserSigClaims(
        identifier=value.identifier,
        sdk_app_id=value.sdk_app_id,
        issue_time=unix_time(value.time),
        expire_time=unix_time(value.expires_at),
    )
    message.lifetime.FromSeconds(value.expire)
    if value.userbuf is not None:
        message.userbuf = value.userbuf
    return message


def private_map(value: PrivateMapClaims | None) -> pb.PrivateMapClaims | None:
    if value is None:
        return None
    message = pb.PrivateMapClaims(
        account=value.account,
        sdk_app_id=value.sdk_app_id,
        expire_time=unix_time(value.expires_at),
        privileges=int(value.privileges),
    )
    if value.str_room_id is not None:
        message.str_room_id = value.str_room_id
    else:
        message.room_id = value.room_id
    return message


def decision(value: EntryDecision) -> pb.AuthorizeRoomEntryResponse:
    return pb.AuthorizeRoomEntryResponse(
        allowed=value.allowed,
        denial=_DENIAL[value.denial] if value.denial else pb.ENTRY_DENIAL_UNSPECIFIED,
        signature_failure=failure(value.signature_failure),
        stop_reasons=[STOP_REASON[r] for r in value.stop_reasons],
        message=value.message,
    )
