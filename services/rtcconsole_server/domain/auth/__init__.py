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
from rtcconsole_server.domain.auth._time_zones import (
    DEFAULT_TIME_ZONE,
    AccountSettings,
    check_time_zone,
    time_zone,
)

__all__ = [
    "API_KEY_QUOTA",
    "DEFAULT_TIME_ZONE",
    "TOTP_LOCKOUT_FIRST",
    "TOTP_LOCKOUT_MAX",
    "TOTP_MAX_FAILURES",
    "AccountSettings",
    "Accounts",
    "ApiKeyView",
    "EntryDecision",
    "EntryDenial",
    "Room",
    "SecondaryAuth",
    "Signatures",
    "TotpState",
    "check_time_zone",
    "check_totp_code",
    "lockout_duration",
    "time_zone",
]
