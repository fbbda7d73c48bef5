"""The field rules of function settings (R12, R13) and callbacks (R15), as pure functions.

Each ``check_*`` returns the :class:`~rtcconsole_server.errors.FieldViolation`
list of one field (empty when the value is fine), so a request reports every
bad field at once. Nothing here reads the store; ``_config.py`` adds the
rules that depend on state (preconditions, the AAC/media combination).

The choices below are the domain's spelling of the proto enums: each is the
enum value's short name (the part after the enum's prefix) in lower case, so
``specified_streams`` is ``RELAYED_PUSH_MODE_SPECIFIED_STREAMS``. Messages name a
value by its short name (:func:`short_name`: ``SPECIFIED_STREAMS``), which is what
a gRPC or JSON caller types after the prefix and, lower-cased, what ``rtcctl``
takes.

Messages never echo a callback key or any part of it: they end up in DEBUG logs.
"""

from __future__ import annotations

import ipaddress
import math
import re
import string
from urllib.parse import urlsplit

import httpx

from rtcconsole_server.domain.common import DestinationPolicy, literal_address
from rtcconsole_server.errors import FieldViolation, PreconditionViolation

__all__ = [
    "CALLBACK_KEY_MAX",
    "CALLBACK_URL_MAX",
    "FILE_FORMATS",
    "KEY_HINT_LENGTH",
    "KEY_HINT_MIN_KEY",
    "MAX_IDLE_MAX_SECONDS",
    "MAX_IDLE_MIN_SECONDS",
    "RECORDING_MEDIA",
    "RECORDING_MODES",
    "RECORDING_STORAGES",
    "RELAYED_PUSH_MODES",
    "check_callback_destination",
    "check_callback_key",
    "check_callback_url",
    "check_choice",
    "check_max_idle",
    "key_hint",
    "short_name",
]

RELAYED_PUSH_MODES = ("specified_streams", "global_auto_relay")
"""R12: relay only the streams the SDK names (or mixed streams), or every upstream stream."""
RECORDING_MODES = ("manual", "automatic")
RECORDING_MEDIA = ("audio_and_video", "audio_only", "video_only")
FILE_FORMATS = ("hls", "mp4", "flv", "aac")
"""``aac`` (AAC) holds audio only, so it needs ``audio_only`` (AUDIO_ONLY) media."""
RECORDING_STORAGES = ("vod", "object_storage")

MAX_IDLE_MIN_SECONDS = 5
"""Shortest ``max_idle_time`` of cloud recording: 5 seconds (R13, our choice of bounds)."""
MAX_IDLE_MAX_SECONDS = 24 * 60 * 60
"""Longest ``max_idle_time`` of cloud recording: 24 hours, in seconds."""

CALLBACK_KEY_MAX = 32
"""R15: a callback key has at most 32 ASCII letters and digits."""
CALLBACK_URL_MAX = 2083
"""R15: a callback URL has at most 2083 characters."""
KEY_HINT_LENGTH = 4
"""How many trailing characters of a callback key ``key_hint`` shows."""
KEY_HINT_MIN_KEY = 16
"""Keys shorter than this get no hint, so a hint never reveals more than a quarter of a key."""

_KEY_ALPHABET = frozenset(string.ascii_letters + string.digits)
# RFC 3986: unreserved, reserved and the percent sign; anything else must be percent-encoded.
_URI_ALPHABET = frozenset(string.ascii_letters + string.digits + "-._~:/?#[]@!$&'()*+,;=%")
_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_HOST_LABEL = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?")
_HOST_MAX = 253


def short_name(value: str) -> str:
    """How messages name a domain choice: its proto short name (``audio_only`` → ``AUDIO_ONLY``)."""
    return value.upper()


def check_choice(value: str, allowed: tuple[str, ...], field: str) -> list[FieldViolation]:
    """``value`` must be one of ``allowed`` (an empty value is "not set"); the message
    names the allowed values by their short names (``one of MANUAL, AUTOMATIC``)."""
    if value in allowed:
        return []
    what = "is required" if value == "" else "is not a known value"
    return [FieldViolation(field, f"{what}; one of {', '.join(short_name(a) for a in allowed)}")]


def check_max_idle(seconds: float, field: str = "settings.max_idle_time") -> list[FieldViolation]:
    """Whole seconds from 5 s to 24 h (86400 s)."""
    if not math.isfinite(seconds) or not float(seconds).is_integer():
        return [FieldViolation(field, "must be a whole number of seconds")]
    if not MAX_IDLE_MIN_SECONDS <= seconds <= MAX_IDLE_MAX_SECONDS:
        return [
            FieldViolation(
                field,
                f"must be between {MAX_IDLE_MIN_SECONDS} s and 24 h ({MAX_IDLE_MAX_SECONDS} s); "
                f"got {seconds:g} s",
            )
        ]
    return []


def check_callback_key(key: str, field: str = "key") -> list[FieldViolation]:
    """Empty (no key), or 1-32 ASCII letters and digits. The message never quotes the key."""
    problems = []
    if len(key) > CALLBACK_KEY_MAX:
        problems.append(f"must be at most {CALLBACK_KEY_MAX} characters (it has {len(key)})")
    if any(c not in _KEY_ALPHABET for c in key):
        problems.append("must contain only ASCII letters and digits")
    return [FieldViolation(field, "; ".join(problems))] if problems else []


def key_hint(key: str) -> str:
    """The last 4 characters of a key of 16 or more characters; empty otherwise."""
    return key[-KEY_HINT_LENGTH:] if len(key) >= KEY_HINT_MIN_KEY else ""


def _bad_characters(url: str) -> str | None:
    odd = [c for c in url if c not in _URI_ALPHABET]
    if not odd:
        return None
    if any(c.isspace() or not c.isprintable() for c in odd):
        return "must not contain spaces, other whitespace or control characters"
    if any(not c.isascii() for c in odd):
        return (
            "must be ASCII: percent-encode non-ASCII characters and write an "
            "internationalised host in its xn-- (punycode) form"
        )
    shown = "".join(sorted(set(odd)))
    return f"must not contain {shown!r}; percent-encode such characters"


def _bad_host(host: str, bracketed: bool) -> str | None:
    if bracketed:
        try:
            ipaddress.IPv6Address(host.split("%", 1)[0])
        except ValueError:
            return "has an invalid IPv6 host address"
        return None
    name = host[:-1] if host.endswith(".") else host
    if len(name) > _HOST_MAX or not all(_HOST_LABEL.fullmatch(label) for label in name.split(".")):
        return "has an invalid host name"
    return None


def check_callback_url(url: str, field: str) -> list[FieldViolation]:
    """Empty (no URL), or an absolute http(s) URL with a host, at most 2083 characters.

    Refused as well: whitespace and control characters, non-ASCII characters
    and others RFC 3986 does not allow unencoded, a ``%`` not followed by two
    hex digits, user info (``user:password@``: credentials would show in
    delivery lists and logs), a port outside 1-65535, a ``#fragment``
    (HTTP never sends it, so it is surely a mistake), and anything the
    dispatcher's HTTP client (httpx) cannot parse: a host that looks like an
    IPv4 address but is not four decimal numbers 0-255 (``0177.0.0.1``,
    ``999.999.999.999``), an ``xn--`` label that is not valid punycode. A URL
    accepted here is one every delivery can at least try.
    """
    if url == "":
        return []
    if len(url) > CALLBACK_URL_MAX:
        return [FieldViolation(field, f"must be at most {CALLBACK_URL_MAX} characters (it has {len(url)})")]
    problem = _bad_characters(url)
    if problem is None and _BAD_PERCENT.search(url):
        problem = "has a % that is not followed by two hex digits"
    if problem is None:
        problem = _check_parts(url)
    if problem is None:
        problem = _unparsable(url)
    return [FieldViolation(field, problem)] if problem else []


def _unparsable(url: str) -> str | None:
    """Why the dispatcher's HTTP client cannot parse ``url``; None when it can."""
    try:
        parsed = httpx.URL(url)
        _ = parsed.host, parsed.port  # the host is decoded (IDNA) only when read
    except (httpx.InvalidURL, ValueError):  # a malformed xn-- label is an IDNAError (a ValueError)
        return (
            "is not a URL the HTTP client can parse: an IPv4 host must be four decimal numbers "
            "0-255 without leading zeros, an xn-- label valid punycode"
        )
    return None


def _check_parts(url: str) -> str | None:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "is not a valid URL (check the host and port)"
    if parts.scheme not in ("http", "https"):
        return "must be an absolute http:// or https:// URL"
    if "@" in parts.netloc:
        return "must not carry user info (user:password@); authenticate with the callback key"
    host = parts.hostname
    if not host:
        return "must have a host"
    problem = _bad_host(host, parts.netloc.startswith("["))
    if problem:
        return problem
    if port == 0:
        return "must have a port from 1 to 65535"
    if "#" in url:
        return "must not have a #fragment (it is never sent)"
    return None


def check_callback_destination(
    url: str, field: str, policy: DestinationPolicy
) -> PreconditionViolation | None:
    """``CALLBACK_DESTINATION_FORBIDDEN`` when ``url`` (already valid) names by a literal
    address (in any spelling a resolver reads: ``2130706433``, ``127.1``, ``[::ffff:127.0.0.1]``)
    a destination ``policy`` refuses. A host name is not resolved here: the dispatcher checks
    what it resolves to at every connection. The message names the address, not the URL."""
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return None
    address = literal_address(host) if host else None
    reason = policy.refusal(address) if address is not None else None
    if address is None or reason is None:
        return None
    return PreconditionViolation(
        "CALLBACK_DESTINATION_FORBIDDEN",
        field,
        f"{field}: callbacks may not reach {address} ({reason}); use a public address or host "
        "name (the operator can open networks with --callback-allow-network)",
    )
