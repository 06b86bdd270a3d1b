"""PyTorch: GPU work, and a CUDA context that must never be created before fork.

**Knows:** ``torch.cuda.*`` (device queries, ``synchronize``, memory stats …),
``Tensor.cuda`` / ``Tensor.to``, ``nn.Module.cuda`` / ``nn.Module.to``: ``GPU`` +
``FORK_UNSAFE``; ``torch.load`` / ``torch.save`` / ``torch.jit.load`` (file IO);
tensor math (``matmul``, ``mm``, ``bmm``, ``einsum``, ``conv2d`` …:
``CPU_RELEASES_GIL`` on CPU, the ATen kernels drop the GIL); ``DataLoader`` (with
``num_workers > 0`` it starts processes: ``SPAWNS_PROCESSES``);
``torch.multiprocessing.*``.

**Prefork:** a CUDA context does not survive ``fork()``: if the parent initialised CUDA
(loading a model ``.to("cuda")`` at import), children fail with "Cannot re-initialize
CUDA in forked subprocess". Even on CPU, a parent that already ran OpenMP-parallel ops
can deadlock its forked children (GNU OpenMP is not fork-safe).

**Fix:** load models in ``worker_process_init`` (per child), or run GPU tasks on a
``solo``/``threads`` worker with concurrency 1 per GPU; set ``torch.set_num_threads``
so prefork concurrency x intra-op threads fits the cores.

**Sources:** PyTorch docs ("Multiprocessing best practices": CUDA and fork,
``spawn``/``forkserver``; ``torch.utils.data`` "Multi-process data loading"; "CPU
threading and TorchScript inference"); advisor-anchors.md (fork-unsafe PyTorch pushes
projects to solo).
"""

from __future__ import annotations

from celery_poolkit.model import Call, Effect, Green, Hazard
from celery_poolkit.plugins._rows import each, gil_free
from celery_poolkit.plugins.base import Plugin

_CUDA = frozenset({Hazard.FORK_UNSAFE})
_CUDA_NOTE = "initialises CUDA: a context created before fork breaks prefork children"

PLUGIN = Plugin(
    name="torch",
    modules=("torch",),
    distributions=("torch",),
    summary="Deep learning: GPU work; CUDA initialised before fork breaks prefork.",
    calls=(
        Call("torch.cuda.*", Effect.GPU, Green.SAFE, _CUDA, note=_CUDA_NOTE),
        Call("torch.cuda.is_available", None, Green.SAFE, note="queries without a context"),
        Call("torch.cuda.device_count", None, Green.SAFE, note="queries without a context"),
        # Both return the tensor or module moved, so ``load(p).to("cuda")`` stays typed.
        *(
            row
            for owner in ("torch.Tensor", "torch.nn.Module")
            for row in each(
                owner,
                ("cuda", "to"),
                Effect.GPU,
                Green.SAFE,
                hazards=_CUDA,
                returns=owner,
                note=_CUDA_NOTE,
            )
        ),
        *each(
            "torch.nn.Module",
            ("eval", "train", "half"),
            None,
            Green.SAFE,
            returns="torch.nn.Module",
        ),
        # Calling a model is its forward pass: inference on the GPU when the model was
        # moved there, else ATen's CPU kernels; either way the task's work, not a wait.
        *each(
            "torch.nn.Module",
            ("__call__", "forward"),
            Effect.GPU,
            Green.SAFE,
            note="forward pass (model inference)",
        ),
        # A loaded model is a Module: ``torch.jit.load(p).to("cuda")`` at import is CUDA
        # in the parent, which the advisor must see to rule prefork out.
        Call("torch.load", Effect.FILE_IO, returns="torch.nn.Module"),
        Call("torch.save", Effect.FILE_IO),
        Call("torch.jit.load", Effect.FILE_IO, returns="torch.nn.Module"),
        *(
            gil_free(f"torch.{name}", "ATen kernels release the GIL")
            for name in ("matmul", "mm", "bmm", "einsum", "conv2d", "topk", "sort")
        ),
        Call(
            "torch.utils.data.DataLoader",
            None,
            Green.SAFE,
            frozenset({Hazard.SPAWNS_PROCESSES}),
            note="num_workers > 0 starts worker processes",
        ),
        Call(
            "torch.multiprocessing.*",
            None,
            Green.SAFE,
            frozenset({Hazard.SPAWNS_PROCESSES}),
        ),
    ),
)
