"""twilio: the Twilio REST client, over requests.

**Knows:** ``twilio.rest.Client`` and every resource call made through it
(``client.messages.create``, ``client.calls.create``,
``client.verify.v2.services(...).verifications.create`` …).

**Under gevent:** safe after patching: ``TwilioHttpClient`` is a requests ``Session``.

**Fix:** nothing gevent-specific; patch before importing twilio (urllib3 caveats).

**Sources:** twilio-python README; ``twilio/http/http_client.py`` (requests Session).
"""

from __future__ import annotations

from celery_poolkit.model import Call, Effect
from celery_poolkit.plugins._rows import ctor
from celery_poolkit.plugins.base import Plugin

PLUGIN = Plugin(
    name="twilio",
    modules=("twilio",),
    distributions=("twilio",),
    summary="Twilio REST API over requests: cooperative after patching.",
    calls=(
        ctor("twilio.rest.Client", "twilio.rest.Client"),
        Call("twilio.rest.Client.**", Effect.NET_IO, note="resource calls are REST requests"),
    ),
)
