"""Function settings (R11-R14: effective and pending values) and callback settings (R15: at once).

The public face of the ``config`` context: other contexts, workers and the API
import from here, never from its private modules.
"""

from __future__ import annotations

from rtcconsole_server.domain.config._config import Config
from rtcconsole_server.domain.config._sections import (
    CallbackSection,
    CloudRecordingSection,
    PermissionControlSection,
    RelayedPushSection,
    SectionState,
    decode,
    encode,
    read_section,
    section_name,
)
from rtcconsole_server.domain.config._views import AppConfigView, CallbackView

__all__ = [
    "AppConfigView",
    "CallbackSection",
    "CallbackView",
    "CloudRecordingSection",
    "Config",
    "PermissionControlSection",
    "RelayedPushSection",
    "SectionState",
    "decode",
    "encode",
    "read_section",
    "section_name",
]
