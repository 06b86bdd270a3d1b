"""The sentence-transformers table: a local embedding model is CPU work in the task."""

from __future__ import annotations

from pathlib import Path

from advisor_helpers import advise, kinds, task_module

EMBEDDING_TASKS = """
from sentence_transformers import SentenceTransformer


class LocalEmbeddings:
    def __init__(self, name):
        self.model = SentenceTransformer(name, device="cpu")

    def embed_documents(self, texts):
        return self.model.encode(texts, batch_size=32)


@app.task
def embed(texts):
    return LocalEmbeddings("all-mpnet-base-v2").embed_documents(texts)


@app.task
def only_loads(name):
    return SentenceTransformer(name)
"""


def test_encoding_is_cpu_and_loading_is_not(tmp_path: Path) -> None:
    found = kinds(advise(task_module(tmp_path, EMBEDDING_TASKS)))
    assert "cpu_releases_gil" in found["embed"]
    assert "cpu_releases_gil" not in found["only_loads"]
    assert "fork_unsafe" in found["only_loads"]
