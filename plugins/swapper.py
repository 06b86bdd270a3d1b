"""swapper: swappable Django models (``swapper.load_model("app", "Model")``).

**Knows:** ``swapper.load_model`` returns a Django model class, whichever the settings
swap in: its ``objects`` and ``save()`` are the ORM (the ``django`` table's rows);
``get_model_name`` / ``is_swapped`` / ``swappable_setting`` read settings (no IO).

**Under gevent:** the Django ORM's rules (the database driver decides).

**Fix:** none needed; this table only lets the advisor see the model through the call.

**Sources:** django-swappable-models README ("Real-World Example", ``load_model``).
"""

from __future__ import annotations

from celery_poolkit.model import Green
from celery_poolkit.plugins._rows import ctor, each
from celery_poolkit.plugins.base import Plugin

PLUGIN = Plugin(
    name="swapper",
    modules=("swapper",),
    distributions=("swapper",),
    summary="swapper: load_model() returns a Django model; its queries are the ORM.",
    calls=(
        ctor("swapper.load_model", "django.db.models.Model", "the model the settings name"),
        *each(
            "swapper",
            ("get_model_name", "get_model_names", "is_swapped", "swappable_setting"),
            None,
            Green.SAFE,
        ),
    ),
)
