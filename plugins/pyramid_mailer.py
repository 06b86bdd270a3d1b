"""pyramid_mailer: e-mail from Pyramid apps over SMTP.

**Knows:** ``get_mailer(request)`` (the registry's ``Mailer``, no IO) and the mailer's
sends: ``send_immediately`` / ``send_immediately_sendmail`` (SMTP or the ``sendmail``
program now), ``send`` / ``send_sendmail`` (joined to the request's transaction: SMTP at
commit, in the same task), ``send_to_queue`` (a maildir on disk). Typed as
``Mailer``, ``IMailer`` (the interface projects annotate with) or ``DebugMailer``.

**Under gevent:** ``smtplib`` over sockets: cooperative after patching.

**Fix:** as for any SMTP client: patch first; a timeout on the SMTP connection.

**Sources:** pyramid_mailer docs ("Sending mail", ``pyramid_mailer.mailer.Mailer``).
"""

from __future__ import annotations

from celery_poolkit.model import Effect
from celery_poolkit.plugins._rows import ctor, each
from celery_poolkit.plugins.base import Plugin

_MAILER = "pyramid_mailer.mailer.Mailer"
_SMTP = "an SMTP conversation (smtplib), now or at the transaction's commit"

PLUGIN = Plugin(
    name="pyramid_mailer",
    modules=("pyramid_mailer",),
    distributions=("pyramid_mailer",),
    summary="pyramid_mailer: sending mail is SMTP, cooperative after patching.",
    calls=(
        ctor("pyramid_mailer.get_mailer", _MAILER, "the registry's mailer: no IO"),
        ctor("pyramid_mailer.mailer.Mailer", _MAILER),
        *(
            ctor(name, _MAILER, "the same sends as Mailer")
            for name in (
                "pyramid_mailer.Mailer",
                "pyramid_mailer.IMailer",
                "pyramid_mailer.interfaces.IMailer",
                "pyramid_mailer.mailer.DebugMailer",
            )
        ),
        *each(
            _MAILER,
            ("send_immediately", "send_immediately_sendmail", "send", "send_sendmail"),
            Effect.NET_IO,
            note=_SMTP,
        ),
        *each(_MAILER, ("send_to_queue",), Effect.FILE_IO, note="writes to a maildir"),
    ),
)
