"""Plugin loading: a good user plugin outside the repo loads; each broken plugin stops at load time with one
line naming the plugin, the problem and the fix."""
import textwrap

import pytest

from flops_fit.config import load_config
from flops_fit.plugins import PluginError, load_plugins

GOOD_MODEL = """
import torch
from torch import nn

class Net(nn.Module):
    def __init__(self, *, width: int, vocab_size: int = 256):
        super().__init__()
        self.emb = nn.Embedding(vocab_size, width)
        self.out = nn.Linear(width, vocab_size)

    def num_params(self):
        return sum(p.numel() for p in self.parameters())

    def forward(self, batch):
        return self.out(self.emb(batch["tokens"]))
"""

GOOD_DATA = """
import torch
UNIT = "tokens"
def prepare(cfg, out_dir): return {}
def loader(split, *, cfg, meta, data_dir, batch_size, seed, start=0):
    while True:
        yield example_batch(cfg, batch_size)
def example_batch(cfg, batch_size):
    t = torch.zeros(batch_size, 8, dtype=torch.long)
    return {"tokens": t, "targets": t}
def units(batch): return int(batch["tokens"].numel())
"""

GOOD_LOSS = """
import torch.nn.functional as F
def loss(outputs, batch):
    return F.cross_entropy(outputs.flatten(0, -2), batch["targets"].flatten())
"""


def _write(plugin_dir, name, src):
    (plugin_dir / f"{name}.py").write_text(textwrap.dedent(src))


def _cfg(model="ff_test_model:Net", data="ff_test_data", loss="ff_test_loss:loss", extra=()):
    return load_config([f"model.plugin={model}", "model.size.knob=width", "model.size.min=4", "model.size.step=4",
                        "model.size.max=64", "~model.kwargs.n_layer", "~model.kwargs.head_dim",
                        "~model.kwargs.seq_len", f"dataset.plugin={data}", f"loss.plugin={loss}", *extra])


@pytest.fixture
def good(plugin_dir):
    _write(plugin_dir, "ff_test_model", GOOD_MODEL)
    _write(plugin_dir, "ff_test_data", GOOD_DATA)
    _write(plugin_dir, "ff_test_loss", GOOD_LOSS)
    return plugin_dir


class TestGoodPlugin:
    def test_user_plugin_outside_repo_loads_and_builds(self, good):
        p = load_plugins(_cfg())
        assert p.unit == "tokens"
        assert p.build_model(8, device="meta").num_params() < p.build_model(16, device="meta").num_params()


def _replace(src, old, new):
    assert old in src
    return src.replace(old, new)


BROKEN = [
    # (name, which module to overwrite, new source or callable on the good source, cfg kwargs, words in message)
    ("module not found", None, None, {"model": "ff_test_nosuchmodule:Net"}, ["not found", "PYTHONPATH"]),
    ("import error in user module", "ff_test_model", "import torch\nraise RuntimeError('boom')\n", {},
     ["importing", "boom"]),
    ("missing class", None, None, {"model": "ff_test_model:Nope"}, ["no attribute 'Nope'"]),
    ("not an nn.Module", "ff_test_model", "class Net:\n    pass\n", {}, ["not an nn.Module"]),
    ("missing num_params", "ff_test_model", lambda s: _replace(s, "def num_params", "def count"), {},
     ["num_params"]),
    ("constructor without the size knob", "ff_test_model",
     lambda s: _replace(_replace(s, "width: int", "hidden: int"), "vocab_size, width", "vocab_size, hidden"), {},
     ["size knob 'width'"]),
    ("forward with the wrong signature", "ff_test_model",
     lambda s: _replace(s, "def forward(self, batch):", "def forward(self, tokens, mask):"), {},
     ["forward", "one argument"]),
    ("batch without the key the model needs", "ff_test_model",
     lambda s: _replace(s, 'batch["tokens"]', 'batch["pixels"]'), {}, ["'pixels'", "tokens"]),
    ("size knob the planner cannot vary", "ff_test_model",
     lambda s: _replace(s, "return sum(p.numel() for p in self.parameters())", "return 1000"), {},
     ["does not grow"]),
    ("num_params not an int", "ff_test_model",
     lambda s: _replace(s, "return sum(p.numel() for p in self.parameters())", "return 'many'"), {},
     ["num_params() returned"]),
    ("loss returns a non-scalar", "ff_test_loss", lambda s: s.replace(
        "F.cross_entropy(outputs.flatten(0, -2), batch[\"targets\"].flatten())",
        "F.cross_entropy(outputs.flatten(0, -2), batch[\"targets\"].flatten(), reduction='none')"), {},
     ["not a scalar"]),
    ("loss returns a non-finite value", "ff_test_loss", lambda s: s.replace(
        "return F.cross_entropy", "return float('nan') * F.cross_entropy"), {}, ["non-finite"]),
    ("loss not callable", "ff_test_loss", "loss = 3\n", {}, ["not callable"]),
    ("data plugin missing functions", "ff_test_data", lambda s: s.replace("def units", "def count_units"), {},
     ["missing function", "units"]),
    ("data plugin yields empty batches", "ff_test_data",
     lambda s: s.replace("torch.zeros(batch_size, 8", "torch.zeros(0, 8"), {}, ["units(batch)", "empty"]),
    ("constructor rejects a configured kwarg", None, None, {"extra": ["+model.kwargs.depth=3"]},
     ["model.kwargs.depth"]),
]


class TestBrokenPlugins:
    @pytest.mark.parametrize("name, module, src, kw, words", BROKEN, ids=[b[0] for b in BROKEN])
    def test_fails_at_load_with_one_clear_line(self, good, name, module, src, kw, words):
        if module:
            orig = (good / f"{module}.py").read_text()
            _write(good, module, src(orig) if callable(src) else src)
        with pytest.raises(PluginError) as e:
            load_plugins(_cfg(**kw))
        msg = str(e.value)
        assert "\n" not in msg and "Fix:" in msg and "plugin '" in msg
        for w in words:
            assert w in msg, msg


class TestProbeVerdictCache:
    """The probe's passing verdict is kept on disk; any change to a plugin's source (or a helper module beside it)
    probes again, and a failing probe keeps nothing."""

    def test_kept_reused_and_renewed_on_an_edited_helper(self, good, tmp_path, monkeypatch, own_measure_cache):
        import sys

        import flops_fit.plugins as P
        calls, real = [], P._probe
        monkeypatch.setattr(P, "_probe", lambda p, size: (calls.append(1), real(p, size)))
        _write(good, "ff_test_helper", "SCALE = 1\n")
        _write(good, "ff_test_model", "import ff_test_helper\n" + GOOD_MODEL)
        cfg = _cfg(extra=[f"results_dir={tmp_path / 'res'}"])
        load_plugins(cfg)
        assert len(calls) == 1 and len(list((tmp_path / "res" / ".cache").glob("probe-*.json"))) == 1
        P._load_cached.cache_clear()
        load_plugins(cfg)
        assert len(calls) == 1, "a second load must reuse the verdict"
        _write(good, "ff_test_helper", "SCALE = 2\n")  # an edited helper module: probed again
        P._load_cached.cache_clear()
        load_plugins(cfg)
        assert len(calls) == 2
        _write(good, "ff_test_loss", GOOD_LOSS.replace("return F.cross_entropy", "return float('nan') * F.cross_entropy"))
        del sys.modules["ff_test_loss"]
        P._load_cached.cache_clear()
        with pytest.raises(PluginError, match="non-finite"):
            load_plugins(cfg)
        assert len(list((tmp_path / "res" / ".cache").glob("probe-*.json"))) == 2, "a failing probe keeps no verdict"

    def test_the_calibration_key_follows_the_same_source_hash(self, good):
        """The forecast's calibration cache keys on the same hash: an edited helper beside the model means new numbers."""
        from flops_fit.forecast.calibrate import _plugin_files_hash
        _write(good, "ff_test_helper", "SCALE = 1\n")
        _write(good, "ff_test_model", "import ff_test_helper\n" + GOOD_MODEL)
        spec = {"model": {"plugin": "ff_test_model:Net"}, "data": {"plugin": "ff_test_data"},
                "loss": {"plugin": "ff_test_loss:loss"}}
        before = _plugin_files_hash(spec)
        assert before == _plugin_files_hash(spec)
        _write(good, "ff_test_helper", "SCALE = 2\n")
        assert _plugin_files_hash(spec) != before
        missing = dict(spec, model={"plugin": "ff_no_such_module:Net"})
        assert len(_plugin_files_hash(missing)) == 16  # a plugin that does not import hashes by its path
