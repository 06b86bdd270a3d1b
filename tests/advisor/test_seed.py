"""The modules read in full from the start: the same test as one regex, by bytes search."""

from __future__ import annotations

import re

import pytest

from celery_poolkit.advisor.engine import _is_seed

#: The definition: any of these, ``.task`` only where a name ends.
REGEX = re.compile(
    rb"celery|Celery|CELERY|queue|\.task\b|shared_task|send_task|apply_async"
    rb"|register_service_factory"
)
SAMPLES = (
    b"from celery import shared_task\n",
    b"app = Celery('proj')\n",
    b"CELERY_BROKER_URL = 'redis://'\n",
    b"q = Queue()\n",  # no lower-case word: not a seed
    b"routing = {'queue': 'x'}\n",
    b"@app.task\ndef f(): pass\n",
    b"@app.task(bind=True)\n",
    b"x = obj.task_id\n",  # .task inside a longer name
    b"x = obj.tasks\n",
    b"send_task('a')\n",
    b"f.apply_async()\n",
    b"register_service_factory(x)\n",
    b"def helper():\n    return 1\n",
    b"",
)


@pytest.mark.parametrize("data", SAMPLES)
def test_bytes_search_agrees_with_the_regex(data: bytes) -> None:
    assert _is_seed(None, data) == bool(REGEX.search(data))
