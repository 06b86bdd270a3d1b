"""Model and manager base classes of common Django apps: they are the Django ORM.

**Knows:**

- Model bases that projects subclass instead of ``models.Model``:
  django-polymorphic ``PolymorphicModel``, django-mptt ``MPTTModel``, django-treebeard
  ``MP_Node`` / ``NS_Node`` / ``AL_Node``, django-model-utils ``TimeStampedModel``,
  ``StatusModel``, ``SoftDeletableModel``, ``TimeFramedModel``, ``UUIDModel``,
  django-softdelete ``SoftDeleteModel`` (with its ``deleted_objects`` and
  ``global_objects`` managers), django-safedelete ``SafeDeleteModel``,
  django-ordered-model ``OrderedModel``, django-extensions ``TimeStampedModel``.
- Models those apps ship and tasks query: django-celery-beat ``PeriodicTask`` and its
  schedules, django-taggit ``Tag`` / ``TaggedItem``, django-allauth ``EmailAddress`` /
  ``SocialAccount`` / ``SocialToken`` / ``SocialApp``, DRF ``authtoken`` ``Token``.
- Their managers (``PolymorphicManager``, ``TreeManager``, ``InheritanceManager`` …).

Each row only says "this class is a Django model (or manager)": a subclass's
``objects.filter()``, ``save()`` or ``delete()`` then get the django plugin's knowledge.

**Under gevent:** as the django plugin: the database driver decides.

**Sources:** each app's documentation of its base classes and managers
(django-polymorphic "Quickstart", django-mptt "Models and managers", django-treebeard
API, django-model-utils "Models" and "Managers", django-softdelete README).
"""

from __future__ import annotations

from celery_poolkit.model import Call, Effect, Green
from celery_poolkit.plugins._rows import ctor
from celery_poolkit.plugins.base import Plugin

_MODEL = "django.db.models.Model"
_MANAGER = "django.db.models.Manager"
_QS = "django.db.models.QuerySet"
_SOFT = "django_softdelete.models.SoftDeleteModel"

_MODELS = (
    "polymorphic.models.PolymorphicModel",
    "mptt.models.MPTTModel",
    "treebeard.mp_tree.MP_Node",
    "treebeard.ns_tree.NS_Node",
    "treebeard.al_tree.AL_Node",
    "model_utils.models.TimeStampedModel",
    "model_utils.models.StatusModel",
    "model_utils.models.SoftDeletableModel",
    "model_utils.models.TimeFramedModel",
    "model_utils.models.UUIDModel",
    _SOFT,
    "safedelete.models.SafeDeleteModel",
    "ordered_model.models.OrderedModel",
    "django_extensions.db.models.TimeStampedModel",
    "django_celery_beat.models.PeriodicTask",
    "django_celery_beat.models.CrontabSchedule",
    "django_celery_beat.models.IntervalSchedule",
    "taggit.models.Tag",
    "taggit.models.TaggedItem",
    "allauth.account.models.EmailAddress",
    "allauth.socialaccount.models.SocialAccount",
    "allauth.socialaccount.models.SocialToken",
    "allauth.socialaccount.models.SocialApp",
    "rest_framework.authtoken.models.Token",
)
_MANAGERS = (
    "polymorphic.managers.PolymorphicManager",
    "mptt.managers.TreeManager",
    "model_utils.managers.InheritanceManager",
    "model_utils.managers.QueryManager",
    "model_utils.managers.SoftDeletableManager",
    "safedelete.managers.SafeDeleteManager",
)
_NOTE = "the driver decides, as for the django plugin's ORM rows"

PLUGIN = Plugin(
    name="django_apps",
    modules=(
        "polymorphic",
        "mptt",
        "treebeard",
        "model_utils",
        "django_softdelete",
        "safedelete",
        "ordered_model",
        "django_extensions",
        "django_celery_beat",
        "taggit",
        "allauth",
        "rest_framework",
    ),
    distributions=(
        "django-polymorphic",
        "django-mptt",
        "django-treebeard",
        "django-model-utils",
        "django-softdelete",
        "django-safedelete",
        "django-ordered-model",
        "django-extensions",
        "django-celery-beat",
        "django-taggit",
        "django-allauth",
        "djangorestframework",
    ),
    summary="Model and manager base classes of common Django apps (they are the ORM).",
    calls=(
        *(ctor(name, _MODEL) for name in _MODELS),
        *(ctor(name, _MANAGER) for name in _MANAGERS),
        *(
            Call(f"{_SOFT}.{manager}.*", Effect.DB_IO, Green.NEEDS_ADAPTER, returns=_QS, note=_NOTE)
            for manager in ("deleted_objects", "global_objects")
        ),
    ),
)
