"""The sentence-transformers table: a local embedding model is CPU work in the task."""

from __future__ import annotations

from pathlib import Path

from advisor_helpers import advise, kinds, task_module

EMBEDDING_TASKS = """
from sentence_transformers import SentenceTransformer
from vectorlib import VectorIndex

MODEL = SentenceTransformer("all-MiniLM-L6-v2", device="cpu")


class LocalEmbeddings:
    def __init__(self, name):
        self.model = SentenceTransformer(name, device="cpu")

    def embed_documents(self, texts):
        return self.model.encode(texts, batch_size=32)


@app.task
def embed(texts):
    return LocalEmbeddings("all-mpnet-base-v2").embed_documents(texts)


@app.task
def index(texts):
    # The library calls embed_documents back: only the load is in the task's reach.
    return VectorIndex.from_texts(texts, LocalEmbeddings("all-mpnet-base-v2"))


@app.task
def count(texts):
    # The model loaded at import time is not this task's work.
    return len(texts), MODEL is not None
"""


def test_encoding_and_loading_a_model_in_the_task_are_cpu(tmp_path: Path) -> None:
    found = kinds(advise(task_module(tmp_path, EMBEDDING_TASKS)))
    assert "cpu_releases_gil" in found["embed"]
    assert "cpu_releases_gil" in found["index"]
    assert "fork_unsafe" in found["index"]
    assert "cpu_releases_gil" not in found["count"]
