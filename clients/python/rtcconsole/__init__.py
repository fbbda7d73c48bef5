"""Python client of rtc-console: typed async gRPC clients, their errors, and UserSig helpers.

- :class:`RtcConsole` (``rtcconsole.client``): ``await RtcConsole.connect(target, api_key=…)``,
  then ``console.apps`` (:class:`AppClient`), ``console.auth`` (:class:`AuthClient`),
  ``console.config`` (:class:`ConfigClient`), ``console.usage`` (:class:`UsageClient`) and
  ``console.monitor`` (:class:`MonitorClient`).
- :class:`IngestClient` (``rtcconsole.client``): the data plane's events and usage, with the
  server's data-plane token: ``await IngestClient.connect(target, data_plane_token=…)``.
- One exception per gRPC status (``rtcconsole.errors``), rooted at :class:`RtcConsoleError`.
- UserSig and PrivateMapKey generation and verification without a server (``rtcconsole.usersig``).
- The generated messages and stubs: ``rtcconsole.v1``; the command line: ``rtcctl`` (``rtcconsole.cli``).

Importing this package does not import grpc: the UserSig helpers are loaded now, and the
names that need grpc (the clients, ``DEFAULT_TIMEOUT``, ``TagLike`` and the errors, whose
classes carry a ``grpc.StatusCode``) on first use (PEP 562). So a receiver of callbacks
(``rtcconsole.callbacks``), a reporter of usage categories (``rtcconsole.usage``) or a
backend signing UserSigs (``rtcconsole.usersig``) runs without grpc and protobuf installed.
"""

import importlib as _importlib
import typing as _typing

from rtcconsole.usersig import (
    DEFAULT_EXPIRE_SECONDS,
    MAX_EXPIRE_SECONDS,
    MAX_INFLATED_BYTES,
    MAX_ROOM_ID,
    MAX_SDK_APP_ID,
    MAX_STR_ROOM_ID_BYTES,
    MAX_TIMESTAMP,
    MAX_TOKEN_CHARS,
    MAX_USER_ID_BYTES,
    MAX_USERBUF_BYTES,
    TLS_VERSION,
    MalformedUserbufError,
    PrivateMapClaims,
    PrivateMapKeyVerification,
    Privilege,
    UserSigClaims,
    UserSigInputError,
    UserSigVerification,
    VerificationFailure,
    decode_private_map_userbuf,
    encode_private_map_userbuf,
    generate_private_map_key,
    generate_usersig,
    verify_private_map_key,
    verify_usersig,
)

if _typing.TYPE_CHECKING:  # what type checkers see; at run time _LAZY loads them on first access
    from rtcconsole.client import (
        DEFAULT_TIMEOUT,
        AppClient,
        AuthClient,
        ConfigClient,
        IngestClient,
        MonitorClient,
        RtcConsole,
        TagLike,
        UsageClient,
    )
    from rtcconsole.errors import (
        Aborted,
        AlreadyExists,
        DeadlineExceeded,
        FailedPrecondition,
        Internal,
        InvalidArgument,
        NotFound,
        PermissionDenied,
        ResourceExhausted,
        RtcConsoleError,
        Unauthenticated,
        Unavailable,
        Unknown,
        from_grpc_error,
    )

__all__ = [
    "DEFAULT_EXPIRE_SECONDS",
    "DEFAULT_TIMEOUT",
    "MAX_EXPIRE_SECONDS",
    "MAX_INFLATED_BYTES",
    "MAX_ROOM_ID",
    "MAX_SDK_APP_ID",
    "MAX_STR_ROOM_ID_BYTES",
    "MAX_TIMESTAMP",
    "MAX_TOKEN_CHARS",
    "MAX_USERBUF_BYTES",
    "MAX_USER_ID_BYTES",
    "TLS_VERSION",
    "Aborted",
    "AlreadyExists",
    "AppClient",
    "AuthClient",
    "ConfigClient",
    "DeadlineExceeded",
    "FailedPrecondition",
    "IngestClient",
    "Internal",
    "InvalidArgument",
    "MalformedUserbufError",
    "MonitorClient",
    "NotFound",
    "PermissionDenied",
    "PrivateMapClaims",
    "PrivateMapKeyVerification",
    "Privilege",
    "ResourceExhausted",
    "RtcConsole",
    "RtcConsoleError",
    "TagLike",
    "Unauthenticated",
    "Unavailable",
    "Unknown",
    "UsageClient",
    "UserSigClaims",
    "UserSigInputError",
    "UserSigVerification",
    "VerificationFailure",
    "decode_private_map_userbuf",
    "encode_private_map_userbuf",
    "from_grpc_error",
    "generate_private_map_key",
    "generate_usersig",
    "verify_private_map_key",
    "verify_usersig",
]

_LAZY: dict[str, str] = {
    **dict.fromkeys(
        (
            "DEFAULT_TIMEOUT",
            "AppClient",
            "AuthClient",
            "ConfigClient",
            "IngestClient",
            "MonitorClient",
            "RtcConsole",
            "TagLike",
            "UsageClient",
        ),
        "rtcconsole.client",
    ),
    **dict.fromkeys(
        (
            "Aborted",
            "AlreadyExists",
            "DeadlineExceeded",
            "FailedPrecondition",
            "Internal",
            "InvalidArgument",
            "NotFound",
            "PermissionDenied",
            "ResourceExhausted",
            "RtcConsoleError",
            "Unauthenticated",
            "Unavailable",
            "Unknown",
            "from_grpc_error",
        ),
        "rtcconsole.errors",
    ),
}
"""Name → the module that defines it, for the names that need grpc."""


def _load(name: str) -> object:
    """A lazily exported name: import its module, keep the value here, return it."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value: object = getattr(_importlib.import_module(module), name)
    globals()[name] = value  # the next access is a plain module attribute
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


# Bound only at run time: a module-level __getattr__ that type checkers saw would make
# every misspelt `rtcconsole.X` type-check; they see the TYPE_CHECKING imports instead.
if not _typing.TYPE_CHECKING:
    __getattr__ = _load
