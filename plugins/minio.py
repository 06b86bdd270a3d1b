"""minio: S3-compatible object storage client, pure Python over urllib3.

**Knows:** ``minio.Minio`` and its operations (``put_object``, ``fput_object``,
``get_object``, ``fget_object``, ``list_objects``, ``stat_object``, ``remove_object``,
``bucket_exists``, ``make_bucket`` …); ``presigned_*_object`` are local signing.

**Under gevent:** safe after patching (urllib3 ``PoolManager``); the urllib3 import-order
caveats apply.

**Fix:** patch before importing minio; always consume and ``close()`` /
``release_conn()`` the ``get_object`` response so the pooled connection is returned.

**Sources:** MinIO Python SDK API reference; green-runtime.md §6 (urllib3 row).
"""

from __future__ import annotations

from celery_poolkit.model import Call, Effect, Green
from celery_poolkit.plugins._rows import ctor, each
from celery_poolkit.plugins.base import Plugin

PLUGIN = Plugin(
    name="minio",
    modules=("minio",),
    distributions=("minio",),
    summary="S3-compatible storage client over urllib3: cooperative after patching.",
    calls=(
        ctor("minio.Minio", "minio.Minio"),
        Call("minio.Minio.*", Effect.NET_IO),
        *each(
            "minio.Minio",
            ("presigned_get_object", "presigned_put_object", "presigned_post_policy"),
            None,
            Green.SAFE,
            note="local signing (the region may be looked up once)",
        ),
    ),
)
