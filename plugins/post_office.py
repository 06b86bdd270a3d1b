"""django-post-office: e-mail queued as database rows, sent later by its own task.

**Knows:** ``post_office.mail.send`` / ``send_many`` (write ``Email`` rows: database IO;
with ``priority="now"`` the mail is also sent at once over the configured backend),
``mail.send_queued`` / ``send_queued_mail_until_done`` and ``Email.dispatch`` (SMTP:
network IO), the ``Email`` / ``EmailTemplate`` / ``Log`` / ``Attachment`` models (the
Django ORM), and ``post_office.EmailBackend`` as ``EMAIL_BACKEND``: Django's own
``send_mail`` then writes rows instead of talking SMTP (see the ``django`` table).

**Under gevent:** rows go through the Django ORM (the database driver decides); sending
goes through Django's SMTP backend, smtplib, cooperative after patching.

**Fix:** nothing for the queueing tasks; the sending task (``send_queued_mail``) is
network-bound.

**Sources:** django-post-office README ("Usage", "Backend", "Sending emails
asynchronously"); ``post_office/mail.py``.
"""

from __future__ import annotations

from celery_poolkit.model import Call, Effect, Green
from celery_poolkit.plugins._rows import ctor, each
from celery_poolkit.plugins.base import Plugin

_ROWS = "writes Email rows (the ORM); its own task sends them later"
_MODEL = "django.db.models.Model"

PLUGIN = Plugin(
    name="post_office",
    modules=("post_office",),
    distributions=("django-post-office",),
    summary="django-post-office: sending mail writes rows; the queue is sent later over SMTP.",
    calls=(
        *each(
            "post_office.mail", ("send", "send_many"), Effect.DB_IO, Green.NEEDS_ADAPTER, note=_ROWS
        ),
        *each(
            "post_office.mail",
            ("send_queued", "send_queued_mail_until_done", "_send_bulk"),
            Effect.NET_IO,
            note="sends queued mail over the configured backend (SMTP)",
        ),
        Call("post_office.models.Email.dispatch", Effect.NET_IO, note="sends over SMTP"),
        *(
            ctor(f"post_office.models.{name}", _MODEL)
            for name in ("Email", "EmailTemplate", "Log", "Attachment")
        ),
    ),
)
