"""``--format text`` (the default): readable in a terminal; colour only on a TTY."""

from __future__ import annotations

from celery_poolkit.model import Advice, QueueAdvice, Severity, Split

_COLORS = {"bold": "1", "dim": "2", "red": "31", "yellow": "33", "green": "32", "cyan": "36"}
_SEVERITY_COLOR = {Severity.ERROR: "red", Severity.WARNING: "yellow", Severity.INFO: "cyan"}


class _Painter:
    """ANSI styles when ``color``, plain text otherwise."""

    def __init__(self, color: bool) -> None:
        self.color = color

    def __call__(self, text: str, style: str) -> str:
        return f"\033[{_COLORS[style]}m{text}\033[0m" if self.color else text


def render(advice: Advice, color: bool = False) -> str:
    paint = _Painter(color)
    out: list[str] = []
    if advice.imported_app:
        out.append("note: --import-app imported the app to read its live configuration")
    if not advice.tasks:
        out.append(f"No Celery tasks found in {advice.files} Python file(s) under {advice.root}.")
    for q in advice.queues:
        out += _queue(q, advice.app, paint)
    if advice.findings:
        out.append(paint("findings:", "bold"))
        for f in advice.findings:
            where = f"{f.location}: " if f.location else ""
            tag = paint(f"{f.rule} {f.severity.value}", _SEVERITY_COLOR[f.severity])
            out.append(f"  {where}{tag} {f.message}")
        out.append("")
    if advice.skipped:
        out.append(paint(f"skipped {len(advice.skipped)} file(s):", "bold"))
        for skip in advice.skipped:
            out.append(f"  {skip.path}: {skip.reason}")
        out.append("")
    out.append(
        f"{len(advice.queues)} queue(s), {len(advice.tasks)} task(s), "
        f"{len(advice.findings)} finding(s), {advice.files} file(s) read"
    )
    return "\n".join(out) + "\n"


def _queue(q: QueueAdvice, app: str, paint: _Painter) -> list[str]:
    head = f"queue {q.name}: {q.pool.value} -c {q.concurrency}"
    if q.processes > 1:
        head += f" x {q.processes} processes per host"
    out = [paint(head, "bold") + paint(f"  (confidence: {q.confidence.value})", "dim")]
    if q.current_pool is not None and q.current_pool is not q.pool:
        out.append(f"  today: {q.current_pool.value}")
    out.append(f"  run:   {paint(q.command, 'green')}")
    if q.processes > 1:
        out.append(
            f"         {q.processes} of these per host (distinct -n), or: "
            f"celery multi start {q.processes} -A {app} -Q {q.name} "
            f"-P {q.pool.value} -c {q.concurrency}"
        )
    out.append(f"  tasks: {', '.join(q.tasks)}")
    out += [f"  why:   {reason}" for reason in q.reasons]
    for ev in q.evidence[:8]:
        chain = " -> ".join(ev.via)
        out.append(paint(f"    {ev.kind:<16} {ev.call}  [{chain}]  {ev.location}", "dim"))
    if len(q.evidence) > 8:
        out.append(paint(f"    … {len(q.evidence) - 8} more (see --format json)", "dim"))
    out += [f"  not {alt.pool.value}: {alt.why_not}" for alt in q.alternatives]
    if q.split is not None:
        out += _split(q.split, paint)
    out.append("")
    return out


def _split(s: Split, paint: _Painter) -> list[str]:
    out = [
        paint(
            f"  split: move {len(s.tasks)} task(s) to queue {s.new_queue} "
            f"({s.pool.value} -c {s.concurrency})",
            "yellow",
        ),
        "    task_routes additions:",
    ]
    out += [f"      {name!r}: {{'queue': {queue!r}}}," for name, queue in s.routes]
    out.append(f"    run: {s.command}")
    return out
