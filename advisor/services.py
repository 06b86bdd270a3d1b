"""Services looked up by name or interface at run time (pyramid_services).

Pyramid apps register factories (``config.register_service_factory(factory,
name="search_index")`` or ``iface=AnnotationWriteService``) and tasks fetch instances
with ``request.find_service(name="search_index")`` or ``find_service(Iface)``. The
visitor names such a lookup's result ``service:name=<name>`` or
``service:iface=<class>``; this module finds the registration and the factory it names,
whose return type (annotated or inferred) is the service's class. A lookup by interface
with no registration is an instance of the interface's class itself (pyramid_services
accepts a concrete class as the interface).
"""

from __future__ import annotations

from collections.abc import Iterable

from celery_poolkit.advisor.facts import SERVICE, CallSite, Lit, Ref, Value

#: The call that registers a factory, and the one that fetches an instance.
REGISTER = "register_service_factory"
FIND = "find_service"


def key(name: str | None, iface: str | None) -> str | None:
    """The receiver naming a lookup's result: by name when given (it is the narrower)."""
    if name:
        return f"{SERVICE}name={name}"
    if iface:
        return f"{SERVICE}iface={iface}"
    return None


def registrations(sites: Iterable[CallSite]) -> dict[str, str]:
    """``key -> factory`` (a dotted name) for every ``register_service_factory`` call."""
    found: dict[str, str] = {}
    for site in sites:
        if site.target.rpartition(".")[2] != REGISTER:
            continue
        factory = _reference(site.args[0] if site.args else site.kw("factory"))
        if not factory:
            continue
        name = site.kw("name")
        iface = _reference(site.kw("iface") or (site.args[1] if len(site.args) > 1 else None))
        for made in {
            key(
                name.value if isinstance(name, Lit) and isinstance(name.value, str) else None, None
            ),
            key(None, iface),
        }:
            if made is not None:
                found.setdefault(made, factory)
    return found


def _reference(value: Value | None) -> str:
    """A factory or interface: a reference to a project name, or its dotted path as text."""
    if isinstance(value, Ref):
        return value.name
    if isinstance(value, Lit) and isinstance(value.value, str) and "." in value.value:
        return value.value.replace(":", ".")  # "pkg.module:factory" is pkg.module.factory
    return ""
