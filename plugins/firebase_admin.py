"""firebase_admin: FCM push, Auth, Realtime Database and Firestore/Storage wrappers.

**Knows:** ``initialize_app`` (local), ``credentials.Certificate`` (reads the key file),
``messaging.send`` / ``send_each`` / ``send_each_for_multicast`` / ``send_all`` /
``send_multicast`` / topic (un)subscription, ``auth.*`` (verify tokens, manage users),
``db.reference(...)`` and its reads/writes, ``firestore.client()`` (a
``google.cloud.firestore.Client``) and ``storage.bucket()`` (a GCS ``Bucket``).

**Under gevent:** FCM, Auth and the Realtime Database use requests through google-auth:
safe after patching. ``firestore.client()`` is the gRPC Firestore client: it needs
poolkit's grpc adapter (see ``google_cloud``). ``auth.verify_id_token`` fetches Google's
public keys (cached) over HTTP.

**Fix:** call ``initialize_app`` once per worker process; batch with ``send_each``
instead of one request per device.

**Sources:** Firebase Admin Python SDK reference (firebase_admin.messaging, auth, db,
firestore, storage); ``firebase_admin/_http_client.py`` (requests).
"""

from __future__ import annotations

from celery_poolkit.model import Call, Effect, Green
from celery_poolkit.plugins._rows import ctor, each
from celery_poolkit.plugins.base import Plugin

_FB = "firebase_admin"

PLUGIN = Plugin(
    name="firebase_admin",
    modules=(_FB,),
    distributions=("firebase-admin",),
    summary="Firebase Admin SDK: HTTP via requests (Firestore via gRPC).",
    calls=(
        Call(f"{_FB}.initialize_app", None, Green.SAFE, note="local: credentials load lazily"),
        Call(f"{_FB}.credentials.Certificate", Effect.FILE_IO, note="reads the key file"),
        *each(
            f"{_FB}.messaging",
            (
                "send",
                "send_each",
                "send_each_for_multicast",
                "send_all",
                "send_multicast",
                "subscribe_to_topic",
                "unsubscribe_from_topic",
            ),
            Effect.NET_IO,
        ),
        Call(f"{_FB}.auth.*", Effect.NET_IO, note="Identity Toolkit REST calls"),
        ctor(f"{_FB}.db.reference", f"{_FB}.db.Reference"),
        Call(f"{_FB}.db.Reference.*", Effect.NET_IO, note="Realtime Database REST calls"),
        ctor(f"{_FB}.db.Reference.child", f"{_FB}.db.Reference"),
        ctor(f"{_FB}.firestore.client", "google.cloud.firestore.Client"),
        ctor(f"{_FB}.storage.bucket", "google.cloud.storage.Bucket"),
    ),
)
