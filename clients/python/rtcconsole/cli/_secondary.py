"""Secondary authentication for ``apps disable|enable|delete`` (R7), remembered for its 30 minutes.

A secondary authentication stays valid 30 minutes (R7), but each TOTP code is accepted by the
server only once. So ``rtcctl`` keeps the token it got for a code, per target and API key, in
``$XDG_CACHE_HOME/rtcctl/secondary-auth.json`` (mode 0600), and uses it for the next action
instead of spending the code again. When the server refuses the kept token (expired, revoked),
the code is exchanged for a new one and the action is retried once.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import TypeVar

from rtcconsole.client import RtcConsole
from rtcconsole.errors import PermissionDenied

__all__ = ["cache_file", "remember", "with_secondary_auth"]

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
    """Run ``action(token)``: with the given token, else a kept one, else one for ``totp_code``."""
    if token:
        return await action(token)
    assert totp_code is not None
    path = cache_file(environ)
    kept = _read(path).get(_slot(target, api_key))
    if kept:
        try:
            return await action(kept)
        except PermissionDenied:
            pass  # expired or revoked: spend the code
    response = await console.auth.create_secondary_auth(totp_code=totp_code)
    remember(path, target, api_key, response.token)
    return await action(response.token)
