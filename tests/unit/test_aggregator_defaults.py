"""The aggregator's defaults are the Settings defaults, written once (``settings.py``).

``rtc-console serve``/``aggregator`` build the aggregator from ``Settings``; code that builds an
``Aggregator`` directly (bench, tests) gets the same watermark and batch size by default.
"""

from __future__ import annotations

import inspect
from dataclasses import fields

from rtcconsole_aggregator import DEFAULT_BATCH_WINDOWS, DEFAULT_WATERMARK, Aggregator
from rtcconsole_server.settings import Settings

_DEFAULTS = {f.name: f.default for f in fields(Settings)}


def test_the_module_defaults_are_the_settings_defaults() -> None:
    assert DEFAULT_WATERMARK == _DEFAULTS["aggregation_watermark"] == Settings().aggregation_watermark
    assert DEFAULT_BATCH_WINDOWS == _DEFAULTS["aggregation_batch"] == Settings().aggregation_batch


def test_an_aggregator_built_without_arguments_uses_the_settings_defaults() -> None:
    parameters = inspect.signature(Aggregator).parameters
    assert parameters["watermark"].default == _DEFAULTS["aggregation_watermark"]
    assert parameters["batch_windows"].default == _DEFAULTS["aggregation_batch"]
