"""google-cloud-storage: GCS over google-auth and requests; cooperative after patching.

**Knows:** ``storage.Client`` (``bucket`` is local; ``get_bucket``, ``list_blobs``,
``create_bucket`` … are requests), ``Bucket`` (``blob`` is local; ``get_blob``,
``list_blobs``, ``delete_blobs`` … are requests) and ``Blob`` (``upload_from_*``,
``download_*``, ``exists``, ``delete``, ``generate_signed_url`` is local).

**Under gevent:** safe after patching: the JSON API goes through
``google.auth.transport.requests.AuthorizedSession`` (requests/urllib3). Large uploads
and downloads are resumable/chunked HTTP requests, still cooperative. The same ssl and
import-order caveats as requests apply.

**Fix:** patch before importing ``google.cloud``; share one ``Client`` per process.

**Sources:** google-cloud-storage API reference (Client, Bucket, Blob);
google-auth ``AuthorizedSession``; green-runtime.md §6 (requests/urllib3 row).
"""

from __future__ import annotations

from celery_poolkit.model import Call, Effect, Green
from celery_poolkit.plugins._rows import ctor, each
from celery_poolkit.plugins.base import Plugin

_GCS = "google.cloud.storage"
_LOCAL = "local: builds an object, no request"

PLUGIN = Plugin(
    name="google_cloud_storage",
    modules=("google",),  # the top-level import name (google.cloud is a namespace)
    distributions=("google-cloud-storage",),
    summary="Google Cloud Storage: HTTP via requests, cooperative after patching.",
    calls=(
        Call(f"{_GCS}.*", Effect.NET_IO, note="JSON API over requests"),
        ctor(f"{_GCS}.Client", f"{_GCS}.Client"),
        ctor(f"{_GCS}.Client.from_service_account_json", f"{_GCS}.Client"),
        Call(f"{_GCS}.Client.*", Effect.NET_IO),
        ctor(f"{_GCS}.Client.bucket", f"{_GCS}.Bucket", note=_LOCAL),
        Call(f"{_GCS}.Client.get_bucket", Effect.NET_IO, returns=f"{_GCS}.Bucket"),
        ctor(f"{_GCS}.Bucket", f"{_GCS}.Bucket", note=_LOCAL),
        Call(f"{_GCS}.Bucket.*", Effect.NET_IO),
        ctor(f"{_GCS}.Bucket.blob", f"{_GCS}.Blob", note=_LOCAL),
        Call(f"{_GCS}.Bucket.get_blob", Effect.NET_IO, returns=f"{_GCS}.Blob"),
        ctor(f"{_GCS}.Blob", f"{_GCS}.Blob", note=_LOCAL),
        Call(f"{_GCS}.Blob.*", Effect.NET_IO),
        *each(
            f"{_GCS}.Blob",
            ("generate_signed_url",),
            None,
            Green.SAFE,
            note="local signing, unless the credentials must call IAM signBlob",
        ),
    ),
)
