"""stripe: the Stripe API client; every resource call is an HTTPS request.

**Knows:** the module-level resources (``stripe.Customer.create``,
``stripe.PaymentIntent.retrieve``, ``stripe.Subscription.modify``, ``stripe.Refund.create``
… every ``stripe.<Resource>.<method>``), the ``StripeClient`` service API
(``client.customers.create`` / ``client.v1.customers.create``), and the local helpers
``stripe.Webhook.construct_event`` / ``WebhookSignature.verify_header`` (HMAC check, no
request).

**Under gevent:** safe after patching when the HTTP client is requests (used when it is
installed) or the urllib fallback. If requests is absent and pycurl is installed,
stripe picks ``PycurlClient``, which blocks the hub (see ``pycurl``); force
``stripe.default_http_client = stripe.RequestsClient()`` in that case.

**Sources:** stripe-python README ("Configuring an HTTP client", ``StripeClient``);
``stripe/_http_client.py`` (``new_default_http_client`` order); Stripe docs ("Check the
webhook signatures").
"""

from __future__ import annotations

from celery_poolkit.model import Call, Effect, Green
from celery_poolkit.plugins._rows import ctor, each
from celery_poolkit.plugins.base import Plugin

_LOCAL = "verifies an HMAC signature locally: no request"

PLUGIN = Plugin(
    name="stripe",
    modules=("stripe",),
    distributions=("stripe",),
    summary="Stripe API over requests/urllib: cooperative after patching.",
    calls=(
        Call("stripe.*", Effect.NET_IO, note="resource methods are HTTPS requests"),
        ctor("stripe.StripeClient", "stripe.StripeClient"),
        Call("stripe.StripeClient.**", Effect.NET_IO),
        Call("stripe.Webhook.construct_event", Effect.CPU, Green.SAFE, note=_LOCAL),
        *each("stripe.WebhookSignature", ("verify_header",), Effect.CPU, Green.SAFE, note=_LOCAL),
        Call("stripe.RequestsClient", None, Green.SAFE),
        Call("stripe.error.*", None, Green.SAFE, note="exception classes"),
        Call("stripe.StripeError", None, Green.SAFE, note="exception class"),
    ),
)
