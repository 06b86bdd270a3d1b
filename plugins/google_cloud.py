"""google-cloud-* (other than Storage): most clients speak gRPC, which needs an adapter.

**Knows:** Pub/Sub (``pubsub_v1.PublisherClient`` / ``SubscriberClient``), Firestore,
BigQuery, Cloud Tasks, Secret Manager, and a fallback for every other
``google.cloud.*`` call (network IO over gRPC).

**Under gevent:** the gRPC-based clients (Pub/Sub, Firestore, Cloud Tasks, Secret
Manager and most generated ``*_v1`` clients) run grpcio's C core, which is not
cooperative: it hangs or raises ``LoopExit`` unless
``grpc.experimental.gevent.init_gevent()`` ran after patching and before any channel was
created. That is poolkit's grpc adapter: ``NEEDS_ADAPTER``. BigQuery's ``Client`` uses
the REST API over requests (safe after patching), except
``to_dataframe``/``to_arrow``, which may use the BigQuery Storage API over gRPC.

**Prefork:** a gRPC channel created before fork breaks in the child (``FORK_UNSAFE``):
create clients in the worker process (``worker_process_init``), not at import.

**Fix:** install poolkit's gevent extra so the grpc adapter runs at patch time; create
clients lazily per process.

**Sources:** grpc ``grpc/experimental/gevent.py`` docstring; gevent #786, #938;
grpc #4629, #20931, #27340, #33354; grpc "fork support" docs
(``GRPC_ENABLE_FORK_SUPPORT``); google-cloud-bigquery API reference.
"""

from __future__ import annotations

from celery_poolkit.model import Call, Effect, Green, Hazard
from celery_poolkit.plugins._rows import ctor, each
from celery_poolkit.plugins.base import Plugin

_G = "google.cloud"
_GRPC = "gRPC: cooperative only after poolkit's grpc adapter ran (init_gevent)"
_FORK = frozenset({Hazard.FORK_UNSAFE})
_FORK_NOTE = "a gRPC channel opened before fork breaks in prefork children"

PLUGIN = Plugin(
    name="google_cloud",
    modules=("google",),  # the top-level import name (google.cloud is a namespace)
    distributions=(
        "google-cloud-pubsub",
        "google-cloud-firestore",
        "google-cloud-bigquery",
        "google-cloud-tasks",
        "google-cloud-secret-manager",
    ),
    summary="Other Google Cloud clients: mostly gRPC, cooperative with poolkit's adapter.",
    calls=(
        Call(f"{_G}.*", Effect.NET_IO, Green.NEEDS_ADAPTER, note=_GRPC),
        Call(
            f"{_G}.pubsub_v1.PublisherClient",
            None,
            Green.NEEDS_ADAPTER,
            _FORK,
            f"{_G}.pubsub_v1.PublisherClient",
            _FORK_NOTE,
        ),
        *each(
            f"{_G}.pubsub_v1.PublisherClient",
            ("publish",),
            Effect.NET_IO,
            Green.NEEDS_ADAPTER,
            returns="google.api_core.future.Future",
            note="batches in a background thread; .result() waits for the ack",
        ),
        Call("google.api_core.future.Future.result", Effect.NET_IO, Green.NEEDS_ADAPTER),
        Call(
            f"{_G}.pubsub_v1.SubscriberClient",
            None,
            Green.NEEDS_ADAPTER,
            _FORK,
            f"{_G}.pubsub_v1.SubscriberClient",
            _FORK_NOTE,
        ),
        Call(f"{_G}.pubsub_v1.SubscriberClient.*", Effect.NET_IO, Green.NEEDS_ADAPTER),
        Call(
            f"{_G}.firestore.Client",
            None,
            Green.NEEDS_ADAPTER,
            _FORK,
            f"{_G}.firestore.Client",
            _FORK_NOTE,
        ),
        Call(f"{_G}.firestore.Client.*", Effect.NET_IO, Green.NEEDS_ADAPTER, note=_GRPC),
        ctor(f"{_G}.bigquery.Client", f"{_G}.bigquery.Client"),
        Call(f"{_G}.bigquery.Client.*", Effect.NET_IO, note="REST over requests"),
        Call(
            f"{_G}.bigquery.Client.query",
            Effect.NET_IO,
            returns=f"{_G}.bigquery.QueryJob",
            note="REST over requests",
        ),
        Call(f"{_G}.bigquery.QueryJob.result", Effect.NET_IO, note="polls the job over REST"),
        Call(
            f"{_G}.bigquery.QueryJob.to_dataframe",
            Effect.NET_IO,
            Green.NEEDS_ADAPTER,
            note="may read through the BigQuery Storage API (gRPC)",
        ),
    ),
)
