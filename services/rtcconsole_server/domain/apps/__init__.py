"""Applications: create and list (R1-R5), lifecycle with secondary auth (R6, R7), tags (R8), materials (R9).

The public face of the ``apps`` context: other contexts, workers and the API
import from here, never from its private modules.
"""

from __future__ import annotations

from rtcconsole_server.domain.apps._apps import APP_QUOTA, Apps
from rtcconsole_server.domain.apps._lifecycle import Lifecycle, SecondaryCheck
from rtcconsole_server.domain.apps._materials import (
    MATERIAL_BYTES_PER_APP,
    MATERIALS_PER_APP,
    InspectedImage,
    Materials,
    MaterialView,
)
from rtcconsole_server.domain.apps._queries import stop_reasons
from rtcconsole_server.domain.apps._tags import TAG_CATALOG_QUOTA, Tags
from rtcconsole_server.domain.apps._views import (
    AppStatus,
    AppView,
    OperationKind,
    OperationState,
    OperationView,
    StopReason,
    TagView,
    Transition,
)

__all__ = [
    "APP_QUOTA",
    "MATERIALS_PER_APP",
    "MATERIAL_BYTES_PER_APP",
    "TAG_CATALOG_QUOTA",
    "AppStatus",
    "AppView",
    "Apps",
    "InspectedImage",
    "Lifecycle",
    "MaterialView",
    "Materials",
    "OperationKind",
    "OperationState",
    "OperationView",
    "SecondaryCheck",
    "StopReason",
    "TagView",
    "Tags",
    "Transition",
    "stop_reasons",
]
