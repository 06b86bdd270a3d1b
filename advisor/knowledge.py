"""Library knowledge, looked up by canonical qualname.

The rows come from the plugins (``celery_poolkit.plugins.builtin_plugins()``, the
``celery_poolkit.plugins`` entry-point group) and from ``[tool.poolkit]`` in the user's
config. A lookup is exact first, else the longest ``prefix.*`` pattern that covers the
name, so ``boto3.*`` answers for ``boto3.client`` unless ``boto3.client`` has a row.

On an object's attributes a ``Class.*`` row covers one level (``Class.method``), because
an attribute of an instance is usually another kind of object (a model's field, a
session's ``headers``). ``Class.**`` covers every depth: an SDK client whose resources
are attribute chains (``OpenAI().chat.completions.create``) says so with one row.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from celery_poolkit.model import Call, Effect

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

#: What the advisor itself knows about Celery: publishing to the broker. Not a plugin,
#: because the advisor has to understand Celery to work at all.
CELERY_CALLS: tuple[Call, ...] = (
    Call("celery.Celery", None, returns="celery.Celery"),
    Call("celery.Celery.send_task", Effect.BROKER_IO),
    Call("celery.app.task.Task.delay", Effect.BROKER_IO),
    Call("celery.app.task.Task.apply_async", Effect.BROKER_IO),
    Call("celery.canvas.Signature.delay", Effect.BROKER_IO),
    Call("celery.canvas.Signature.apply_async", Effect.BROKER_IO),
    Call("celery.group", None, returns="celery.canvas.Signature"),
    Call("celery.chain", None, returns="celery.canvas.Signature"),
    Call("celery.chord", None, returns="celery.canvas.Signature"),
    Call("celery.signature", None, returns="celery.canvas.Signature"),
)


#: Library CPU work done on one item: a password or key hashed, a payload compressed, a
#: template rendered, a fetched page parsed, an image re-encoded. Once per task it is
#: small next to the task's waiting (the labels' rule: "hashing or compressing a small
#: value is not CPU work"); in a loop over many items it is the work. effects.py counts
#: these rows' CPU effect only where a call repeats: a ``while`` loop's or a
#: comprehension's lines, or a ``for`` loop's calls on its item (loop_items.py).
#: Prefixes of qualnames, ending in ".", or whole names.
PER_ITEM_CPU: tuple[str, ...] = (
    "hashlib.pbkdf2_hmac",
    "hashlib.scrypt",
    "hashlib._Hash.",
    "hmac.",
    "zlib.",
    "gzip.compress",
    "gzip.decompress",
    "bz2.compress",
    "bz2.decompress",
    "lzma.compress",
    "lzma.decompress",
    "bcrypt.",
    "passlib.",
    "cryptography.fernet.",
    "cryptography.hazmat.primitives.kdf.",
    "cryptography.x509.",
    "stripe.Webhook.",
    "stripe.WebhookSignature.",
    "django.template.",
    "jinja2.",
    "flask.render_template",
    "flask.templating.render_template",
    "bs4.",
    "selectolax.",
    "lxml.html.fromstring",
    "lxml.html.document_fromstring",
    "lxml.html.fragment_fromstring",
    "lxml.etree.fromstring",
    "lxml.etree.HTML",
    "lxml.etree.XML",
    "lxml.etree.tostring",
    "xml.etree.ElementTree.fromstring",
    "moz.l10n.",
    "fluent.syntax.",
    "polib.",
    "babel.messages.",
    # One image re-encoded (a fetched thumbnail saved as JPEG) is one payload compressed;
    # resampling and filters (resize, thumbnail, filter) stay whole-image work.
    "PIL.Image.Image.save",
    "PIL.Image.Image.convert",
)
_CPU = frozenset({Effect.CPU, Effect.CPU_RELEASES_GIL})


def per_item(call: Call, qualname: str) -> bool:
    """Whether ``call`` (the row ``qualname`` found) is CPU work on one item."""
    return call.effect in _CPU and qualname.startswith(PER_ITEM_CPU)


class Knowledge:
    """An index over Call rows; later rows replace earlier ones with the same qualname."""

    def __init__(self, calls: Iterable[Call]) -> None:
        self.exact: dict[str, Call] = {}
        self.prefix: dict[str, Call] = {}
        #: ``Class.**`` rows: every attribute chain below the owner, at any depth.
        self.deep: dict[str, Call] = {}
        for call in calls:
            if call.qualname.endswith(".**"):
                self.deep[call.qualname[:-3]] = call
                self.prefix.setdefault(call.qualname[:-3], call)
            elif call.qualname.endswith(".*"):
                self.prefix[call.qualname[:-2]] = call
            else:
                self.exact[call.qualname] = call
        self._memo: dict[str, Call | None] = {}

    def lookup(self, qualname: str) -> Call | None:
        if qualname in self._memo:
            return self._memo[qualname]
        found = self.exact.get(qualname)
        if found is None and self.prefix:
            name = qualname
            while "." in name:
                name = name.rpartition(".")[0]
                if name in self.prefix:
                    found = self.prefix[name]
                    break
        self._memo[qualname] = found
        return found

    def lookup_below(self, owner: str, attrs: str) -> Call | None:
        """The row for the chain ``owner.attrs`` (``attrs`` holds at least one dot).

        ``owner.objects.*`` covers ``owner.objects.get``; ``owner.**`` (and ``owner.x.**``)
        covers any depth below it; a one-level ``owner.*`` does not cover
        ``owner.field.save``, whose ``field`` is some other object."""
        name = f"{owner}.{attrs}"
        found = self.exact.get(name)
        while found is None and "." in name:
            name = name.rpartition(".")[0]
            if name == owner:
                return self.deep.get(name)
            found = self.prefix.get(name)
        return found

    def alias(self, qualname: str) -> str:
        """The library class whose instances ``qualname``'s instances are, or "".

        A constructor row of a class that returns another class says so (``ctor(
        "redis.StrictRedis", "redis.Redis")``, ``AbstractUser`` -> ``Model``): subclasses
        in the project, and attributes reached through the class, use the other's rows.
        """
        row = self.exact.get(qualname)
        if row is None or row.effect is not None or row.returns in ("", qualname):
            return ""
        return row.returns if qualname.rpartition(".")[2][:1].isupper() else ""

    def fingerprint(self) -> str:
        """Changes whenever the knowledge does, for the result cache's key."""
        rows = sorted(
            repr(c) for c in (*self.exact.values(), *self.prefix.values(), *self.deep.values())
        )
        return hashlib.blake2b("\n".join(rows).encode(), digest_size=8).hexdigest()


def plugin_calls(
    extra_modules: Iterable[str] = (),
    *,
    project: Iterable[Path] = (),
    trust_project: bool = False,
) -> tuple[list[Call], list[str]]:
    """Every Call row of the shipped plugins and of the ``celery_poolkit.plugins`` entry
    points, plus the errors met loading third-party plugins (reported, not raised).

    An entry point whose distribution or module lies inside ``project`` (an
    ``*.egg-info`` in the analysed checkout, an editable install of it) is the project's
    own code: it is reported and not imported unless ``trust_project`` is set.
    """
    import importlib
    from importlib.metadata import entry_points

    from celery_poolkit.plugins import builtin_plugins

    calls = [c for plugin in builtin_plugins() for c in plugin.calls]
    errors: list[str] = []
    roots = [p.resolve() for p in project]
    modules = []
    for ep in entry_points(group="celery_poolkit.plugins"):
        inside = _inside_project(ep, roots)
        if inside is not None and not trust_project:
            errors.append(
                f"plugin {ep.value} comes from {inside}, inside the analysed project: not "
                "imported (the advisor never runs the project's code; pass "
                "--trust-project-plugins to load it)"
            )
            continue
        modules.append(ep.value)
    for name in [*modules, *extra_modules]:
        try:
            plugin = importlib.import_module(name.partition(":")[0]).PLUGIN
            calls.extend(plugin.calls)
        except Exception as exc:  # a broken third-party plugin must not stop the advice
            errors.append(f"plugin {name}: {type(exc).__name__}: {exc}")
    return calls, errors


def _inside_project(ep: EntryPoint, roots: list[Path]) -> Path | None:
    """Where ``ep`` lives when that is inside one of ``roots``: its metadata folder or
    its top-level module. Finding a top-level module's spec imports nothing."""
    import importlib.util

    places: list[Path] = []
    located = getattr(ep.dist, "_path", None)  # PathDistribution: the *.egg-info folder
    if located is not None:
        places.append(Path(located))
    top = ep.value.partition(":")[0].partition(".")[0]
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        spec = None
    if spec is not None:
        places += [Path(p) for p in (spec.submodule_search_locations or ())]
        if spec.origin:
            places.append(Path(spec.origin))
    for place in places:
        resolved = place.resolve()
        if any(resolved == root or root in resolved.parents for root in roots):
            return resolved
    return None
