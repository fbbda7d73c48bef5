"""Accounts and API keys, secondary authentication (R7), UserSig and PrivateMapKey (R14, R22),
and the data plane's room-entry gate.

The public face of the ``auth`` context: other contexts, workers and the API
import from here, never from its private modules.
"""

from __future__ import annotations

from rtcconsole_server.domain.auth._accounts import API_KEY_QUOTA, Accounts, ApiKeyView, TotpState
from rtcconsole_server.domain.auth._secondary import (
    TOTP_LOCKOUT_FIRST,
    TOTP_LOCKOUT_MAX,
    TOTP_MAX_FAILURES,
    SecondaryAuth,
    check_totp_code,
    lockout_duration,
)
from rtcconsole_server.domain.auth._signatures import EntryDecision, EntryDenial, Room, Signatures

__all__ = [
    "API_KEY_QUOTA",
    "TOTP_LOCKOUT_FIRST",
    "TOTP_LOCKOUT_MAX",
    "TOTP_MAX_FAILURES",
    "Accounts",
    "ApiKeyView",
    "EntryDecision",
    "EntryDenial",
    "Room",
    "SecondaryAuth",
    "Signatures",
    "TotpState",
    "check_totp_code",
    "lockout_duration",
]
