"""What the domain hands back to the API layer: frozen views and the enums of R6/R7."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

__all__ = [
    "AppStatus",
    "AppView",
    "OperationKind",
    "OperationState",
    "OperationView",
    "StopReason",
    "TagView",
    "Transition",
]


class AppStatus(enum.Enum):
    NORMAL = "normal"
    STOPPED = "stopped"


class StopReason(enum.Enum):
    """R6's reasons, in the order they are reported (most actionable first)."""

    DISABLED_BY_OWNER = "disabled_by_owner"
    PACKAGE_USED_UP = "package_used_up"
    PACKAGE_EXPIRED = "package_expired"
    ARREARS = "arrears"


class Transition(enum.Enum):
    """A lifecycle action accepted but not yet in effect (R7)."""

    DISABLING = "disabling"
    ENABLING = "enabling"
    DELETING = "deleting"


class OperationKind(enum.Enum):
    DISABLE_APP = "disable_app"
    ENABLE_APP = "enable_app"
    DELETE_APP = "delete_app"


class OperationState(enum.Enum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


@dataclass(frozen=True)
class TagView:
    key: str
    value: str


@dataclass(frozen=True)
class AppView:
    """An app as its owner sees it (R4, R5)."""

    sdk_app_id: int
    name: str
    description: str
    source: str
    created_at: datetime
    updated_at: datetime
    relayed_push_enabled: bool
    push_domain: str
    status: AppStatus
    stop_reasons: tuple[StopReason, ...]
    pending_transition: Transition | None
    pending_operation: str | None
    tags: tuple[TagView, ...]


@dataclass(frozen=True)
class OperationView:
    """A disable, enable or delete and where it stands (R7)."""

    name: str
    kind: OperationKind
    state: OperationState
    sdk_app_id: int
    accepted_at: datetime
    effective_at: datetime
    done_at: datetime | None
    error_message: str

    @property
    def done(self) -> bool:
        return self.state is not OperationState.PENDING
