"""Formatters: each renders an :class:`~celery_poolkit.model.Advice` and nothing else."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from celery_poolkit.advisor import serial
from celery_poolkit.advisor.report import json, markdown, sarif, text
from celery_poolkit.model import Advice
from celery_poolkit.worker.profile import printable

Renderer = Callable[[Advice, bool], str]


def escaped(render: Renderer) -> Renderer:
    """``render`` with every string of the advice made printable first.

    Task names, queue names and paths come from the project's source, and measured
    hosts from worker replies: a control character in one (a terminal escape sequence)
    is shown as ``\\x1b``, never sent to the terminal. JSON and SARIF escape by
    themselves.
    """

    def render_escaped(advice: Advice, color: bool) -> str:
        return render(serial.load(Advice, _printable(serial.dump(advice))), color)

    return render_escaped


def _printable(data: Any) -> Any:
    if isinstance(data, str):
        return printable(data, sys.maxsize)
    if isinstance(data, list):
        return [_printable(v) for v in data]
    if isinstance(data, dict):
        return {k: _printable(v) for k, v in data.items()}
    return data


#: ``--format`` names -> ``render(advice, color) -> str``.
FORMATS: dict[str, Renderer] = {
    "text": escaped(text.render),
    "json": json.render,
    "sarif": sarif.render,
    "markdown": escaped(markdown.render),
}
