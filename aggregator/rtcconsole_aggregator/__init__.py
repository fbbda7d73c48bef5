"""The usage aggregator: rolls second-level usage into 5-minute lines (R16) and settles billing (R6).

It runs on the same store as the server, inside ``rtc-console serve`` (a
worker) or alone (``rtc-console aggregator [--once]``); any number of replicas
may run at once. See docs/usage.md.

- :class:`Aggregator`: ``run_once()`` is one tick.
- :func:`roll_up_batch`: one transaction of the roll-up.
- :func:`aggregator_worker`: the tick as a worker of a ``WorkerGroup`` (``serve`` and alone).
- :func:`run` / :func:`run_aggregator`: the standalone command, on ``Settings``.
"""

from rtcconsole_aggregator.aggregator import DEFAULT_BATCH_WINDOWS, DEFAULT_WATERMARK, Aggregator
from rtcconsole_aggregator.rollup import Batch, roll_up_batch
from rtcconsole_aggregator.runner import aggregator_worker, build_aggregator, run, run_aggregator

__all__ = [
    "DEFAULT_BATCH_WINDOWS",
    "DEFAULT_WATERMARK",
    "Aggregator",
    "Batch",
    "aggregator_worker",
    "build_aggregator",
    "roll_up_batch",
    "run",
    "run_aggregator",
]
