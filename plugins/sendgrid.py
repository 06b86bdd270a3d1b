"""sendgrid: the SendGrid v3 API client, built on python-http-client (urllib).

**Knows:** ``sendgrid.SendGridAPIClient`` (also imported from ``sendgrid.sendgrid``),
``send(message)`` and the fluent
``client.mail.send.post(request_body=...)`` chain. Building ``helpers.mail.Mail`` objects
is local.

**Under gevent:** safe after patching: python-http-client sends with
``urllib.request.urlopen``, i.e. the stdlib socket.

**Fix:** nothing gevent-specific; for many recipients prefer one API call with
personalizations over one task per address.

**Sources:** sendgrid-python README and ``sendgrid/base_interface.py``
(``client.mail.send.post``); python-http-client ``client.py`` (``urllib.request``).
"""

from __future__ import annotations

from celery_poolkit.model import Call, Effect
from celery_poolkit.plugins._rows import ctor
from celery_poolkit.plugins.base import Plugin

_C = "sendgrid.SendGridAPIClient"

PLUGIN = Plugin(
    name="sendgrid",
    modules=("sendgrid",),
    distributions=("sendgrid",),
    summary="SendGrid e-mail API over urllib: cooperative after patching.",
    calls=(
        ctor(_C, _C),
        ctor("sendgrid.sendgrid.SendGridAPIClient", _C),
        Call(f"{_C}.send", Effect.NET_IO),
        Call(f"{_C}.client.*", Effect.NET_IO, note="python-http-client fluent request"),
    ),
)
