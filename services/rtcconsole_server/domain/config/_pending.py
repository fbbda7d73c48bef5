"""How a settings change is written (R11, R15) and how the worker puts due ones into effect.

A function setting's change is *staged* (:func:`stage`): the row keeps its
effective value and gets a pending one due ``delay`` from now; a change back to
exactly what is in effect cancels the pending one. A callback change is put in
effect at once (:func:`put_in_effect`). :func:`apply_app` is the worker's step for
one locked app: it moves every due pending value into effect, relayed push before
cloud recording, which never goes on before relayed push does (R13).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from rtcconsole_server.domain.config._sections import (
    IMMEDIATE,
    SECTIONS,
    CloudRecordingSection,
    RelayedPushSection,
    SectionState,
    decode,
    encode,
    section_name,
)
from rtcconsole_server.store.models import App, AppSetting

__all__ = ["apply_app", "put_in_effect", "stage"]

S = TypeVar("S")


def stage(
    session: Session, sdk_app_id: int, state: SectionState[S], target: S, *, now: datetime, delay: timedelta
) -> None:
    """Make ``target`` the pending value, due ``delay`` after ``now`` (or cancel it when in effect)."""
    assert type(target) not in IMMEDIATE, "callback settings are never staged (R15)"
    name = section_name(type(target))
    row = session.get(AppSetting, (sdk_app_id, name))
    cancel = target == state.effective
    if row is None:
        if cancel:
            return
        row = AppSetting(sdk_app_id=sdk_app_id, section=name, effective=encode(state.effective))
        session.add(row)
    row.pending = None if cancel else encode(target)
    row.pending_effective_at = None if cancel else now + delay
    row.updated_at = now


def put_in_effect(session: Session, sdk_app_id: int, target: object, *, now: datetime) -> None:
    """Make ``target`` the effective value at once, dropping any pending one (R15)."""
    name = section_name(type(target))
    row = session.get(AppSetting, (sdk_app_id, name))
    if row is None:
        row = AppSetting(sdk_app_id=sdk_app_id, section=name)
        session.add(row)
    row.effective = encode(target)
    row.pending, row.pending_effective_at = None, None
    row.updated_at = now


def apply_app(session: Session, app: App, now: datetime, *, push_domain_suffix: str) -> int:
    """Put ``app``'s pending values due by ``now`` into effect; returns how many sections changed.

    Relayed push taking effect sets the app's flag, and on first enablement its push domain
    ``{sdk_app_id}.{push_domain_suffix}`` (R5). The caller holds the app row's lock.
    """
    rows = {
        row.section: row
        for row in session.scalars(select(AppSetting).where(AppSetting.sdk_app_id == app.sdk_app_id))
    }
    applied = 0
    # relayed push before cloud recording, which depends on it; a callback row is pending
    # only if an older version staged it (read as in effect already): folding it is tidying
    for name in SECTIONS:
        row = rows.get(name)
        if row is None or row.pending is None or row.pending_effective_at is None:
            continue
        if row.pending_effective_at > now or _waits_for_push(rows, row):
            continue
        row.effective, row.pending, row.pending_effective_at = row.pending, None, None
        row.updated_at = now
        applied += 1
        if name == section_name(RelayedPushSection):
            pushed = decode(RelayedPushSection, row.effective)
            app.relayed_push_enabled = pushed.enabled
            if pushed.enabled and not app.push_domain:
                app.push_domain = f"{app.sdk_app_id}.{push_domain_suffix}"
            app.updated_at = now
    return applied


def _waits_for_push(rows: dict[str, AppSetting], row: AppSetting) -> bool:
    """Recording never goes on before relayed push does (R13).

    If recording is due to turn on while relayed push is still pending (a
    later push change restarted its delay), the recording change moves to
    the push change's time.
    """
    if row.section != section_name(CloudRecordingSection) or row.pending is None:
        return False
    recording = decode(CloudRecordingSection, row.pending)
    push_row = rows.get(section_name(RelayedPushSection))
    if not recording.enabled or push_row is None:
        return False
    if decode(RelayedPushSection, push_row.effective).enabled:
        return False
    if push_row.pending is None or not decode(RelayedPushSection, push_row.pending).enabled:
        return False
    row.pending_effective_at = push_row.pending_effective_at
    return True
