"""Formatters: each renders an :class:`~celery_poolkit.model.Advice` and nothing else."""

from __future__ import annotations

from collections.abc import Callable

from celery_poolkit.advisor.report import json, markdown, sarif, text
from celery_poolkit.model import Advice

Renderer = Callable[[Advice, bool], str]

#: ``--format`` names -> ``render(advice, color) -> str``.
FORMATS: dict[str, Renderer] = {
    "text": text.render,
    "json": json.render,
    "sarif": sarif.render,
    "markdown": markdown.render,
}
