"""When a change of a function setting may be made (R12-R13): new enablement and what it needs.

Preconditions look at *new enablement* only: turning a feature on that is off
both in effect and where the app is heading (its pending value if any, else its
effective value). Turning the account's CSS or VOD service off later changes
nothing already on.
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy.orm import Session

from rtcconsole_server.domain.config._sections import (
    CloudRecordingSection,
    RelayedPushSection,
    SectionState,
    read_section,
)
from rtcconsole_server.errors import PreconditionViolation
from rtcconsole_server.store.models import Account

__all__ = ["css_inactive", "heading", "recording_on", "recording_unmet", "turns_on"]

S = TypeVar("S")


def heading(state: SectionState[S]) -> S:
    """Where the section is heading: the pending value if any, else the effective one."""
    return state.pending if state.pending is not None else state.effective


def turns_on(state: SectionState[Any], enabled: bool) -> bool:
    """Whether a change to ``enabled`` is new enablement: the section is off in effect and
    where it is heading. Only new enablement checks preconditions."""
    return enabled and not state.effective.enabled and not heading(state).enabled


def recording_on(state: SectionState[CloudRecordingSection]) -> bool:
    """Whether cloud recording is on in effect or pending (either keeps relayed push on, R13)."""
    return state.effective.enabled or (state.pending is not None and state.pending.enabled)


def recording_unmet(session: Session, account: Account, sdk_app_id: int) -> list[PreconditionViolation]:
    """What turning cloud recording on still needs (R13): CSS and VOD active, relayed push on
    where the app is heading. Empty when nothing is missing."""
    unmet = []
    if not account.css_active:
        unmet.append(css_inactive(account))
    if not account.vod_active:
        unmet.append(
            PreconditionViolation(
                "VOD_SERVICE_INACTIVE",
                f"accounts/{account.id}",
                "cloud recording needs the account's video-on-demand (VOD) service to be active",
            )
        )
    if not heading(read_section(session, sdk_app_id, RelayedPushSection)).enabled:
        unmet.append(
            PreconditionViolation(
                "RELAYED_PUSH_OFF",
                f"apps/{sdk_app_id}",
                "cloud recording needs relayed push to be on (R13); turn relayed push on first",
            )
        )
    return unmet


def css_inactive(account: Account) -> PreconditionViolation:
    """The violation for an account whose live-streaming (CSS) service is off (R12, R13)."""
    return PreconditionViolation(
        "CSS_SERVICE_INACTIVE",
        f"accounts/{account.id}",
        "the account's live-streaming (CSS) service is not active; ask the operator to activate it",
    )
