"""Fork-unsafe state created at import time, and which task modules import it (PK501).

Prefork forks after the worker imports the app: a CUDA context or a model moved to the
GPU at module level is inherited, broken, by every child. Found from the index alone.
"""

from __future__ import annotations

from celery_poolkit.advisor.project import Project
from celery_poolkit.model import Evidence, Hazard, Location


def fork_unsafe(project: Project) -> dict[str, Evidence]:
    """Fork-unsafe calls made at module level, by module."""
    found: dict[str, Evidence] = {}
    for module, facts in project.modules.items():
        for site in facts.calls:
            for target in project.targets(site):
                row = target.call
                if row is not None and Hazard.FORK_UNSAFE in row.hazards:
                    found.setdefault(
                        module,
                        Evidence(
                            Hazard.FORK_UNSAFE.value,
                            target.name,
                            Location(facts.path, site.line, site.col),
                            (module,),
                            row.note,
                        ),
                    )
    return found


def reached_from(
    project: Project, module: str, fork_unsafe: dict[str, Evidence]
) -> Evidence | None:
    """A fork-unsafe import-time call in ``module`` or a project module it imports,
    with the chain of imports that reaches it."""
    if not fork_unsafe:
        return None
    seen = {module}
    stack: list[tuple[str, tuple[str, ...]]] = [(module, (module,))]
    while stack:
        current, chain = stack.pop()
        if current in fork_unsafe:
            ev = fork_unsafe[current]
            return Evidence(ev.kind, ev.call, ev.location, chain, ev.note)
        for imported in project.imports.get(current, {}).values():
            symbol = project.resolve(imported)
            target = symbol.name if symbol.kind == "module" else ""
            if not target:
                target = next(
                    (m for m in (imported.rpartition(".")[0],) if m in project.modules), ""
                )
            if target and target not in seen:
                seen.add(target)
                stack.append((target, (*chain, target)))
    return None
