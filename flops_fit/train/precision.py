"""Precision: ``auto`` picks bf16 autocast on GPUs that support it, fp16 with loss scaling on older GPUs,
fp32 elsewhere. On CPU bf16 is allowed but opt-in: its speed varies from ~200x slower than fp32 (no native
bf16) to ~2x faster for wide models on CPUs with AMX, and it slows tiny models down (docs/training.md)."""
import torch

_ACCELERATE = {"fp32": "no", "bf16": "bf16", "fp16": "fp16"}


def resolve(precision: str = "auto") -> str:
    """Return the concrete precision name: fp32 | bf16 | fp16."""
    cuda = torch.cuda.is_available()
    if precision in (None, "auto"):
        if cuda:
            return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
        return "fp32"
    if precision not in _ACCELERATE:
        raise ValueError(f"training.precision must be auto, fp32, bf16 or fp16, not {precision!r}")
    if precision == "fp16" and not cuda:
        raise ValueError("training.precision=fp16 needs a CUDA GPU (loss scaling); use fp32 or auto on CPU")
    return precision


def accelerate_mixed_precision(precision: str) -> str:
    """The ``Accelerator(mixed_precision=...)`` value for a concrete precision name."""
    return _ACCELERATE[precision]


def cpu_only() -> bool:
    """No accelerator: tell Accelerate so, which also makes torchrun/accelerate-launched processes use gloo."""
    mps = getattr(torch.backends, "mps", None)
    return not (torch.cuda.is_available() or (mps is not None and mps.is_available()))
