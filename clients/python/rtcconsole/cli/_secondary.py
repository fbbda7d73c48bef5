"""Secondary authentication for ``apps disable|enable|delete`` (R7), remembered for its 30 minutes.

A secondary authentication stays valid 30 minutes (R7), but each TOTP code is accepted by the
server only once. So ``rtcctl`` keeps the token it got for a code (``--totp`` or ``rtcctl auth
secondary``), per target and API key, in ``$XDG_CACHE_HOME/rtcctl/secondary-auth.json`` (mode
0600). What an action uses, first match wins:

1. ``--secondary-auth-token TOKEN``: that token;
2. ``--totp CODE``: the code is always exchanged for a new token (kept for the next actions),
   so a wrong code fails even while a kept token is still valid: a code is never accepted and
   then ignored;
3. neither: the kept token. The server decides whether it is still valid (its clock, not
   this machine's); when it refuses it (expired, revoked) the token is forgotten and the
   command is a usage error that asks for a code, as it is when no token is kept.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import TypeVar

from rtcconsole.cli._framework import UsageError
from rtcconsole.client import RtcConsole
from rtcconsole.errors import PermissionDenied

__all__ = ["NEEDS_TOTP", "cache_file", "forget", "remember", "with_secondary_auth"]

NEEDS_TOTP = "this needs a TOTP code: pass --totp CODE (a kept secondary-auth token lasts 30 minutes)"
"""The usage error of an action that has neither a code nor a token the server accepts (R7)."""

T = TypeVar("T")


def cache_file(environ: Mapping[str, str]) -> Path:
    """Where kept tokens live: ``$XDG_CACHE_HOME/rtcctl`` or ``~/.cache/rtcctl``."""
    base = environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "rtcctl" / "secondary-auth.json"


def _slot(target: str, api_key: str) -> str:
    return hashlib.sha256(f"{target}\0{api_key}".encode()).hexdigest()[:32]


def _read(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return (
        {k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, str)}
        if isinstance(data, dict)
        else {}
    )


def _write(path: Path, entries: dict[str, str]) -> None:
    with contextlib.suppress(OSError):  # a read-only home only costs a TOTP code next time
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as sink:
            json.dump(entries, sink)


def remember(path: Path, target: str, api_key: str, token: str) -> None:
    """Keep ``token`` for this target and API key."""
    entries = _read(path)
    entries[_slot(target, api_key)] = token
    _write(path, entries)


def forget(path: Path, target: str, api_key: str) -> None:
    """Drop the token kept for this target and API key (the server refused it)."""
    entries = _read(path)
    if entries.pop(_slot(target, api_key), None) is not None:
        _write(path, entries)


async def with_secondary_auth(
    console: RtcConsole,
    *,
    target: str,
    api_key: str,
    totp_code: str | None,
    token: str | None,
    action: Callable[[str], Awaitable[T]],
    environ: Mapping[str, str],
) -> T:
    """Run ``action(token)`` with ``token``, else a new one for ``totp_code``, else the kept one.

    Raises :class:`UsageError` (:data:`NEEDS_TOTP`) when there is neither a code nor a kept
    token the server accepts; a wrong code fails as the server refuses it (PERMISSION_DENIED).
    """
    if token:
        return await action(token)
    path = cache_file(environ)
    if totp_code:  # R7: a code given is always checked, never ignored for a kept token
        response = await console.auth.create_secondary_auth(totp_code=totp_code)
        remember(path, target, api_key, response.token)
        return await action(response.token)
    kept = _read(path).get(_slot(target, api_key))
    if not kept:
        raise UsageError(NEEDS_TOTP)
    try:
        return await action(kept)
    except PermissionDenied:  # expired (30 minutes, R7) or revoked
        forget(path, target, api_key)
        raise UsageError(f"the kept secondary-auth token is no longer valid; {NEEDS_TOTP}") from None
