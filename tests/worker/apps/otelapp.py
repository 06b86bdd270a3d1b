"""bsapp's tasks with poolkit's OpenTelemetry metrics on, exported by the OTel SDK as one
JSON line per export to ``$OTEL_METRICS_FILE`` (every 0.5 s, and at shutdown)."""

from __future__ import annotations

import os

from bsapp import app
from opentelemetry import metrics
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import ConsoleMetricExporter, PeriodicExportingMetricReader

import celery_poolkit

# Open for the life of the worker: the SDK's reader writes to it until shutdown.
_out = open(os.environ["OTEL_METRICS_FILE"], "a", buffering=1)  # noqa: SIM115
_exporter = ConsoleMetricExporter(out=_out, formatter=lambda data: data.to_json(indent=None) + "\n")
metrics.set_meter_provider(
    MeterProvider(metric_readers=[PeriodicExportingMetricReader(_exporter, 500)])
)
celery_poolkit.install(app, otel=True)

__all__ = ["app"]
