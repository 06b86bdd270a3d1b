"""azure-storage-blob: Azure Blob Storage over azure-core's requests transport.

**Knows:** ``BlobServiceClient`` (``from_connection_string``; ``get_container_client``
and ``get_blob_client`` are local), ``ContainerClient`` and ``BlobClient`` (every
operation is a request), and ``StorageStreamDownloader`` (``readall``, ``readinto``,
``chunks`` read the body).

**Under gevent:** safe after patching: the default transport is
``azure.core.pipeline.transport.RequestsTransport`` (requests/urllib3). Parallel
uploads/downloads (``max_concurrency > 1``) use a thread pool, which patched threading
turns into greenlets. The ``aio`` clients are asyncio and need an event loop.

**Fix:** patch before importing ``azure``; create clients from a connection string once
per process.

**Sources:** azure-storage-blob API reference (BlobServiceClient, ContainerClient,
BlobClient, StorageStreamDownloader); azure-core transport docs.
"""

from __future__ import annotations

from celery_poolkit.model import Call, Effect
from celery_poolkit.plugins._rows import ctor
from celery_poolkit.plugins.base import Plugin

_B = "azure.storage.blob"
_LOCAL = "local: builds a client for a path, no request"

PLUGIN = Plugin(
    name="azure_storage_blob",
    modules=("azure",),  # the top-level import name (azure is a namespace package)
    distributions=("azure-storage-blob",),
    summary="Azure Blob Storage: HTTP via requests, cooperative after patching.",
    calls=(
        ctor(f"{_B}.BlobServiceClient", f"{_B}.BlobServiceClient"),
        ctor(f"{_B}.BlobServiceClient.from_connection_string", f"{_B}.BlobServiceClient"),
        Call(f"{_B}.BlobServiceClient.*", Effect.NET_IO),
        ctor(f"{_B}.BlobServiceClient.get_container_client", f"{_B}.ContainerClient", _LOCAL),
        ctor(f"{_B}.BlobServiceClient.get_blob_client", f"{_B}.BlobClient", _LOCAL),
        ctor(f"{_B}.ContainerClient", f"{_B}.ContainerClient"),
        ctor(f"{_B}.ContainerClient.from_connection_string", f"{_B}.ContainerClient"),
        ctor(f"{_B}.ContainerClient.from_container_url", f"{_B}.ContainerClient"),
        Call(f"{_B}.ContainerClient.*", Effect.NET_IO),
        ctor(f"{_B}.ContainerClient.get_blob_client", f"{_B}.BlobClient", _LOCAL),
        ctor(f"{_B}.BlobClient", f"{_B}.BlobClient"),
        ctor(f"{_B}.BlobClient.from_connection_string", f"{_B}.BlobClient"),
        ctor(f"{_B}.BlobClient.from_blob_url", f"{_B}.BlobClient"),
        Call(f"{_B}.BlobClient.*", Effect.NET_IO),
        Call(
            f"{_B}.BlobClient.download_blob",
            Effect.NET_IO,
            returns=f"{_B}.StorageStreamDownloader",
        ),
        Call(f"{_B}.StorageStreamDownloader.*", Effect.NET_IO),
    ),
)
