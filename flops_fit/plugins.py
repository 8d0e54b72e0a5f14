"""Load model, data and loss plugins by import path and check them before any training.

Every problem is a ``PluginError`` with one line: which plugin, what is wrong, how to fix it.
The protocol is in docs/plugins.md; ``load_plugins(cfg)`` returns a checked ``Plugins`` bundle.
"""
import importlib
import inspect
import math
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

DATA_FUNCTIONS = ("prepare", "loader", "example_batch", "units")


class PluginError(ValueError):
    """A plugin that cannot be used (message: one line naming the plugin, the problem and the fix)."""


def _fail(role, path, problem, fix):
    raise PluginError(f"{role} plugin {path!r}: {problem}. Fix: {fix}")


def load_object(path: str, role: str = "plugin"):
    """Import ``package.module:Attr`` (or a bare module) and return the object."""
    module_name, _, attr = path.partition(":")
    try:
        obj = importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        if e.name and module_name.startswith(e.name):
            _fail(role, path, f"module {module_name!r} not found",
                  "check the spelling, `pip install` it, or add its folder to PYTHONPATH")
        _fail(role, path, f"importing {module_name!r} failed: {type(e).__name__}: {e}", "install the missing package")
    except Exception as e:  # a user module that raises at import time
        _fail(role, path, f"importing {module_name!r} raised {type(e).__name__}: {e}", "fix the error in that module")
    for part in filter(None, attr.split(".")):
        if not hasattr(obj, part):
            _fail(role, path, f"module {module_name!r} has no attribute {part!r}",
                  "name an existing class/function as module:Attribute")
        obj = getattr(obj, part)
    return obj


@dataclass(frozen=True)
class Plugins:
    """The checked plugins of one config, with helpers to build the model at a knob value."""
    model_path: str
    model_cls: type
    model_kwargs: dict
    knob: str
    data_path: str
    data: object
    data_cfg: dict
    loss_path: str
    loss: object

    @property
    def unit(self) -> str:
        return getattr(self.data, "UNIT", "units")

    def build_model(self, knob_value: int, device=None):
        import torch
        with torch.device(device or "cpu"):
            return self.model_cls(**self.model_kwargs, **{self.knob: int(knob_value)})

    def example_batch(self, batch_size: int, device=None) -> dict:
        batch = self.data.example_batch(self.data_cfg, batch_size)
        if device is not None:
            batch = {k: (v.to(device) if hasattr(v, "to") else v) for k, v in batch.items()}
        return batch


_SHARED_CACHE_ENV = "FLOPS_FIT_MEASURE_CACHE"


def measurement_cache(cfg: dict) -> Path:
    """The folder of the probe verdicts and size tables: ``<results_dir>/.cache``, or the folder that
    $FLOPS_FIT_MEASURE_CACHE names, shared by every results folder (its keys hash the plugins' source, so a
    shared folder never serves an edited plugin an old answer)."""
    shared = os.environ.get(_SHARED_CACHE_ENV)
    return Path(shared) if shared else Path(cfg["results_dir"]) / ".cache"


def load_plugins(cfg: dict, *, probe: bool = True) -> Plugins:
    """Load and check the plugins named by ``cfg`` (cached per distinct plugin config).

    The probe's verdict is kept in ``<measurement_cache>/probe-<key>.json``: the key hashes the plugin
    config, the torch version and the source of every module loaded from the plugins' folders, so editing a
    plugin (or a helper module beside it) probes it again. Only a passing verdict is kept."""
    import json
    key = json.dumps({k: cfg[k] for k in ("model", "dataset", "loss")}, sort_keys=True, default=str)
    cache_dir = str(measurement_cache(cfg)) if probe and (cfg.get("results_dir") or _SHARED_CACHE_ENV in os.environ) \
        else None
    return _load_cached(key, probe, cache_dir)


@lru_cache(maxsize=8)
def _load_cached(key: str, probe: bool, cache_dir=None) -> Plugins:
    import json
    cfg = json.loads(key)
    m, d, l = cfg["model"], cfg["dataset"], cfg["loss"]
    p = Plugins(
        model_path=m["plugin"], model_cls=_check_model_class(m), model_kwargs=dict(m["kwargs"]),
        knob=m["size"]["knob"], data_path=d["plugin"], data=_check_data(d["plugin"]), data_cfg=dict(d),
        loss_path=l["plugin"], loss=_check_loss(l["plugin"]),
    )
    if probe:
        verdict = Path(cache_dir) / f"probe-{_probe_key(key, p)}.json" if cache_dir else None
        if verdict is None or not verdict.is_file():
            _probe(p, m["size"])
            if verdict is not None:
                try:
                    from .io import atomic_write_json
                    atomic_write_json(verdict, {"probe": "passed", "plugins": cfg})
                except OSError:
                    pass  # a read-only results folder: the probe runs again next time
    return p


def _probe_key(key: str, p: Plugins) -> str:
    """Hash of the plugin config, torch's version and the plugins' source (``plugin_source_hash``)."""
    import hashlib
    import torch
    src = plugin_source_hash((p.model_cls, p.data, p.loss))
    return hashlib.sha256(f"{key}|torch {torch.__version__}|{src}".encode()).hexdigest()[:12]


def plugin_source_hash(objects) -> str:
    """Hash of the source of every loaded module from the folders of these plugin objects (classes, functions or
    modules): for a package, everything under its folder; for a bare module, its sibling modules. An edited
    plugin, or an edited helper module beside it, changes it. The probe verdict and the calibration both key on it."""
    import hashlib
    import sys
    packages, folders = set(), set()
    for obj in objects:
        name = getattr(obj, "__module__", None) if not inspect.ismodule(obj) else obj.__name__
        top = sys.modules.get((name or "").split(".")[0])
        f = getattr(top, "__file__", None)
        if f:
            (packages if hasattr(top, "__path__") else folders).add(Path(f).resolve().parent)
    h = hashlib.sha256()
    for name, mod in sorted(list(sys.modules.items()), key=lambda kv: kv[0]):
        f = getattr(mod, "__file__", None)
        if not (f and f.endswith(".py")):
            continue
        path = Path(f).resolve()
        if path.parent in folders or any(root in path.parents for root in packages):
            try:
                h.update(name.encode() + path.read_bytes())
            except OSError:
                h.update(name.encode())
    return h.hexdigest()[:16]


def _check_model_class(m: dict):
    import torch
    path, knob = m["plugin"], m["size"]["knob"]
    cls = load_object(path, "model")
    if not (inspect.isclass(cls) and issubclass(cls, torch.nn.Module)):
        _fail("model", path, f"{cls!r} is not an nn.Module class", "point model.plugin at your nn.Module subclass")
    if not callable(getattr(cls, "num_params", None)):
        _fail("model", path, "has no num_params() method",
              "add `def num_params(self): return sum(p.numel() for p in self.parameters())` (the N of the scaling law)")
    sig = inspect.signature(cls.__init__)
    params = sig.parameters
    takes_var_kw = any(p.kind is p.VAR_KEYWORD for p in params.values())
    if knob not in params and not takes_var_kw:
        _fail("model", path, f"constructor does not accept the size knob {knob!r} (model.size.knob)",
              f"add a keyword argument `{knob}: int` to __init__, or set model.size.knob to one it has")
    for name in m["kwargs"]:
        if name not in params and not takes_var_kw:
            _fail("model", path, f"constructor does not accept model.kwargs.{name}",
                  f"remove model.kwargs.{name} from the config or add it to __init__")
    fwd = inspect.signature(cls.forward)
    positional = [p for p in list(fwd.parameters.values())[1:]
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    required = [p for p in positional if p.default is p.empty]
    if len(required) != 1 and not (not required and positional):
        _fail("model", path, f"forward{fwd} must take exactly one argument, the batch dict",
              "define `def forward(self, batch: dict)` and read the inputs from batch[...]")
    return cls


def load_data_plugin(path: str):
    """The data plugin object: a module, an object, or a class instantiated without arguments."""
    data = load_object(path, "data")
    if inspect.isclass(data):
        try:
            data = data()
        except Exception as e:
            _fail("data", path, f"could not instantiate the class without arguments ({e})",
                  "name a module or an object with prepare/loader/example_batch/units")
    return data


def _check_data(path: str):
    data = load_data_plugin(path)
    missing = [f for f in DATA_FUNCTIONS if not callable(getattr(data, f, None))]
    if missing:
        _fail("data", path, f"missing function(s) {', '.join(missing)}",
              "a data plugin provides prepare(cfg, out_dir), loader(split, *, cfg, meta, data_dir, batch_size, seed, "
              "start), example_batch(cfg, batch_size) and units(batch) (docs/plugins.md)")
    return data


def _check_loss(path: str):
    fn = load_object(path, "loss")
    if not callable(fn):
        _fail("loss", path, f"{fn!r} is not callable", "point loss.plugin at a function loss(outputs, batch)")
    return fn


def _probe(p: Plugins, size: dict) -> None:
    """Build the smallest and a larger model, run a tiny batch forward+backward on the CPU, check every contract."""
    import torch
    lo = int(size["min"])
    try:
        model = p.build_model(lo, device="meta")
    except Exception as e:
        _fail("model", p.model_path, f"constructor failed with {p.knob}={lo} and model.kwargs "
              f"({type(e).__name__}: {e})", "make __init__ accept these arguments, or change model.size.min / model.kwargs")
    n_lo = _num_params(p, model)
    hi = _next_knob(size)
    if hi is not None:
        n_hi = _num_params(p, p.build_model(hi, device="meta"))
        if n_hi <= n_lo:
            _fail("model", p.model_path, f"num_params() does not grow with {p.knob} ({lo}->{n_lo}, {hi}->{n_hi}), "
                  "so the planner cannot vary the size", "choose a size knob that changes the parameter count")
    try:
        batch = p.example_batch(2)
    except Exception as e:
        _fail("data", p.data_path, f"example_batch(cfg, 2) raised {type(e).__name__}: {e}",
              "make example_batch return a dict of tensors shaped like a real batch")
    if not isinstance(batch, dict) or not batch:
        _fail("data", p.data_path, f"example_batch returned {type(batch).__name__} {batch!r:.60}, not a non-empty dict",
              "yield batches as dicts of tensors, e.g. {'tokens': ..., 'targets': ...}")
    units = p.data.units(batch)
    if not isinstance(units, int) or isinstance(units, bool) or units <= 0:
        _fail("data", p.data_path, f"units(batch) gave {units!r} for a batch of 2 (empty batch?)",
              "return the positive number of data units (tokens, samples) in the batch as an int")
    torch.manual_seed(0)
    model = p.build_model(lo)
    try:
        outputs = model(batch)
    except KeyError as e:
        _fail("model", p.model_path, f"forward needs batch key {e} but the data plugin {p.data_path!r} gives "
              f"{sorted(batch)}", "read the keys the data plugin yields, or use a matching data plugin")
    except Exception as e:
        _fail("model", p.model_path, f"forward failed on a probe batch ({type(e).__name__}: {e})",
              "run the model on data.example_batch(cfg, 2) yourself and fix the error")
    try:
        loss = p.loss(outputs, batch)
    except Exception as e:
        _fail("loss", p.loss_path, f"failed on the model's outputs ({type(e).__name__}: {e})",
              "make loss(outputs, batch) accept what model.forward returns")
    if not (isinstance(loss, torch.Tensor) and loss.ndim == 0):
        shape = tuple(loss.shape) if isinstance(loss, torch.Tensor) else type(loss).__name__
        _fail("loss", p.loss_path, f"returned {shape}, not a scalar tensor", "reduce the loss to a scalar (e.g. .mean())")
    if not math.isfinite(loss.item()):
        _fail("loss", p.loss_path, f"returned a non-finite value ({loss.item()}) on a probe batch",
              "check for log(0), division by zero or bad targets")
    if not loss.requires_grad:
        _fail("loss", p.loss_path, "returned a tensor without gradient", "compute the loss from the model outputs with torch ops")
    loss.backward()


def _num_params(p: Plugins, model) -> int:
    try:
        n = model.num_params()
    except Exception as e:
        _fail("model", p.model_path, f"num_params() raised {type(e).__name__}: {e}", "make num_params() return an int")
    if not isinstance(n, int) or isinstance(n, bool) or n <= 0:
        _fail("model", p.model_path, f"num_params() returned {n!r}", "return the positive int number of parameters")
    return n


def _next_knob(size: dict):
    step = int(size.get("step", 1))
    nxt = int(size["min"]) + step * max(1, (int(size["max"]) - int(size["min"])) // step // 4)
    return nxt if nxt <= int(size["max"]) and nxt != int(size["min"]) else None
