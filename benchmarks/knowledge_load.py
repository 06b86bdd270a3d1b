"""How long loading the library knowledge takes, next to loading the stdlib table alone.

The advisor loads every built-in table once per run (``builtin_plugins()``). Each
measurement is a fresh interpreter, so nothing is cached in ``sys.modules``; the two
variants alternate so machine noise hits both alike. Prints medians and their ratio.

    python benchmarks/knowledge_load.py [--runs 15]

Run it with an interpreter where celery-poolkit is installed (``.tox/py311/bin/python``
after a tox run), from outside the source tree.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys

_PROBE = """
import time
t = time.perf_counter()
{body}
print(time.perf_counter() - t)
"""
_VARIANTS = {
    "stdlib table only": "import celery_poolkit.plugins.stdlib",
    "all built-in tables": (
        "from celery_poolkit.plugins import builtin_plugins\n"
        "rows = sum(len(p.calls) for p in builtin_plugins())"
    ),
}


def _once(body: str) -> float:
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE.format(body=body)],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    return float(proc.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, choices=range(1, 201), metavar="1-200")
    runs = parser.parse_args().runs
    samples: dict[str, list[float]] = {name: [] for name in _VARIANTS}
    for _ in range(runs):
        for name, body in _VARIANTS.items():
            samples[name].append(_once(body))

    from celery_poolkit.plugins import builtin_plugins

    plugins = builtin_plugins()
    print(f"{len(plugins)} plugins, {sum(len(p.calls) for p in plugins)} rows, {runs} runs each")
    medians = {name: statistics.median(values) for name, values in samples.items()}
    for name, value in medians.items():
        print(f"  {name:<22} median {value * 1000:7.1f} ms")
    ratio = medians["all built-in tables"] / medians["stdlib table only"]
    print(f"  all tables / stdlib table: {ratio:.1f}x")


if __name__ == "__main__":
    main()
