"""The appliers: workers that make accepted changes take effect when they are due.

- ``operations``: disable, enable and delete (R7) take effect ``Settings.operation_delay``
  after acceptance (default 3 minutes); with the default ``worker_interval`` (15 s) the
  effect lands 3 to 3.5 minutes after acceptance.
- ``config``: function-settings changes (R11) take effect ``Settings.config_delay`` after
  they are made (default 5 minutes), then 5 to 5.25 minutes with the default interval.
"""

from __future__ import annotations

from rtcconsole_server.domain.console import Console
from rtcconsole_server.settings import Settings
from rtcconsole_server.workers import Worker

__all__ = ["applier_workers"]


def applier_workers(console: Console, settings: Settings) -> list[Worker]:
    """The operations and config appliers of ``console``, each every ``settings.worker_interval``."""
    return [
        Worker("operations", console.lifecycle.apply_due, settings.worker_interval),
        Worker("config", console.config.apply_due, settings.worker_interval),
    ]
