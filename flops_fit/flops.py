"""Parameters and training FLOPs per data unit, measured on the plugin's own model on the meta device.

FLOPs per unit = FLOPs of one forward + backward pass (model and loss) on ``example_batch(cfg, 1)``,
divided by the units in that batch, counted with ``torch.utils.flop_counter.FlopCounterMode``.
SDPA attention is forced onto the math backend while counting, so attention appears as the two
batched matmuls (QK^T and AV) over the full sequence. On the CPU the fused kernel would be counted as
zero FLOPs. Causal masking is not discounted (the Chinchilla convention). Nothing assumes 6N: a ViT, an
embedding-heavy GPT or any user model gets its own number.

Measurements are cached in memory and on disk (``<results_dir>/.cache/sizes-<hash>.json``, or the folder
$FLOPS_FIT_MEASURE_CACHE names: ``plugins.measurement_cache``), so the Snakemake workflow re-plans in
milliseconds per experiment. The hash covers the plugin config and the plugins' source: an edited model is
measured again.
"""
import json
from pathlib import Path

from .config import stable_hash
from .io import atomic_write_json
from .plugins import Plugins, plugin_source_hash


class SizeTable:
    """knob value -> (num_params, flops_per_unit), measured lazily, cached in memory and on disk."""

    def __init__(self, plugins: Plugins, cache_dir=None):
        self.p = plugins
        key = stable_hash({"model": plugins.model_path, "kwargs": plugins.model_kwargs, "knob": plugins.knob,
                           "data": plugins.data_path, "data_cfg": plugins.data_cfg, "loss": plugins.loss_path,
                           "source": plugin_source_hash((plugins.model_cls, plugins.data, plugins.loss)), "v": 2})
        self.path = Path(cache_dir) / f"sizes-{key}.json" if cache_dir else None
        self.params: dict = {}
        self.fpu: dict = {}
        self._dirty = False
        if self.path and self.path.is_file():
            try:
                raw = json.loads(self.path.read_text())
                self.params = {int(k): v for k, v in raw.get("params", {}).items()}
                self.fpu = {int(k): v for k, v in raw.get("flops_per_unit", {}).items()}
            except (OSError, ValueError):
                pass  # a broken cache is rebuilt, never trusted

    def num_params(self, knob: int) -> int:
        if knob not in self.params:
            self.params[knob] = int(self.p.build_model(knob, device="meta").num_params())
            self._dirty = True
        return self.params[knob]

    def flops_per_unit(self, knob: int) -> float:
        if knob not in self.fpu:
            self.fpu[knob] = measure_flops_per_unit(self.p, knob)
            self._dirty = True
        return self.fpu[knob]

    def save(self) -> None:
        if self.path and self._dirty:
            try:
                atomic_write_json(self.path, {"params": self.params, "flops_per_unit": self.fpu})
            except OSError:
                pass  # a read-only or full results folder: planning works without its cache (measured again)
            self._dirty = False


def measure_flops_per_unit(p: Plugins, knob: int) -> float:
    """Training FLOPs (forward + backward) per data unit for the model at this knob value."""
    from torch.nn.attention import SDPBackend, sdpa_kernel
    from torch.utils.flop_counter import FlopCounterMode

    model = p.build_model(knob, device="meta")
    batch = p.example_batch(1, device="meta")
    units = p.data.units(batch)
    with sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as counter:
        loss = p.loss(model(batch), batch)
        loss.backward()
    return counter.get_total_flops() / units


def knob_for_params(table: SizeTable, target: float, size: dict) -> int:
    """The knob value on the grid min, min+step, ..., max whose num_params is closest to target (in log)."""
    import math
    step = int(size.get("step", 1))
    lo_i, hi_i = 0, (int(size["max"]) - int(size["min"])) // step
    knob = lambda i: int(size["min"]) + i * step  # noqa: E731
    if table.num_params(knob(hi_i)) <= target:
        return knob(hi_i)
    if table.num_params(knob(lo_i)) >= target:
        return knob(lo_i)
    while hi_i - lo_i > 1:  # invariant: params(lo) < target <= params(hi)
        mid = (lo_i + hi_i) // 2
        if table.num_params(knob(mid)) < target:
            lo_i = mid
        else:
            hi_i = mid
    a, b = knob(lo_i), knob(hi_i)
    da = abs(math.log(target / table.num_params(a)))
    db = abs(math.log(table.num_params(b) / target))
    return a if da <= db else b
